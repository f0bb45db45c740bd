from newsmon.core.text import (
    dateline_words,
    fold_text,
    html_to_text,
    word_chars,
)


def test_html_to_text_keeps_paragraphs_and_drops_code():
    markup = (
        "<html><head><title>T</title><style>p{}</style></head><body><script>var x = 1;</script>"
        "<nav>Home</nav><p>First &amp; <b>bold</b> line.</p><!-- note --><p>Second<br>line</p></body></html>"
    )
    assert html_to_text(markup) == "First & bold line.\nSecond\nline"


def test_html_to_text_plain_text_is_only_tidied():
    assert html_to_text("  a  b \n\n\n c ") == "a b\nc"
    assert html_to_text("5 < 6 and AT&T") == "5 < 6 and AT&T"


def test_html_to_text_folds_every_kind_of_space_like_split():
    spaces = [chr(c) for c in range(0x110000) if chr(c).isspace() and chr(c) not in " \n"]
    for space in spaces:  # the tidy fast path keeps printable lines: no space but " " may be printable
        assert not space.isprintable()
        assert html_to_text(f"a{space}b {space}c{space}") == "a b c", hex(ord(space))
    assert html_to_text("already tidy line\n lead\ntrail \ntwo  spaces") == "already tidy line\nlead\ntrail\ntwo spaces"


def test_fold_text_folds_quotes_dashes_case_and_space():
    assert fold_text("“Iran’s”  —\tTREATY «x»") == "\"iran's\" - treaty \"x\""


def test_fold_text_folds_persian_and_russian_variants():
    assert fold_text("كيك") == fold_text("کیک")  # Arabic kaf/yeh vs Persian
    assert fold_text("۲۰۲۵ و ٣") == "2025 و 3"
    assert fold_text("می\u200cگوید") == "می گوید"
    assert fold_text("Ёлка") == "елка"
    assert fold_text("كِتابٌ") == fold_text("کتاب")  # harakat dropped


def test_word_chars_blanks_everything_but_words():
    chars = word_chars("“Iran’s”  1,3 — كِتاب!")
    assert chars.tobytes().decode("utf-16-le").replace("\0", " ") == " iran s   1 3   کتاب "
    assert word_chars("").size == 0
    assert fold_text("ok 👍 done") == "ok 👍 done"  # beyond the BMP survives folding ...
    assert word_chars("ok👍").tobytes().decode("utf-16-le", "surrogatepass").replace("\0", " ") == "ok  "  # ... and is no word


def test_ascii_text_folds_as_it_does_inside_unicode_text():
    ascii_text = "".join(map(chr, range(128))) * 2
    assert word_chars(ascii_text).dtype == word_chars("é").dtype
    assert word_chars(ascii_text).tolist() == word_chars(f"{ascii_text}é").tolist()[:-1]
    assert fold_text(ascii_text) == fold_text(f"{ascii_text}é")[:-1]


def test_dateline_words_counts_the_dateline():
    cases = {
        "TEHRAN, Nov. 8 (Agency) - Russian officials said": 4,
        "МОСКВА, 8 ноября — РИА Новости. Россия": 3,
        "Москва. 8 ноября. /ТАСС/. Россия и Иран": 4,
        "تهران - ایرنا - رئیس جمهور گفت": 2,
        "Iran-Russia ties grow as officials meet": 0,
    }
    for text, words in cases.items():
        assert dateline_words(text) == words, text


def test_html_to_text_tidies_like_splitting_each_line():
    """The whole-text tidy equals each line's `" ".join(line.split())` with blank lines dropped,
    on ASCII and non-ASCII texts, printable or not (controls, marks, joiners, every space)."""
    import random

    pieces = ["a", "Zy.", "  ", "   ", " ", "\n", "\r\n", "\r", "\t", "\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\xa0",
              "\u2009", "\u2028", "\u202f", "\u3000", "\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u202b", "\u061c",
              "\ufeff", "\x00", "\x07", "\x7f", "می", "كتاب", "Ёлка", "e\u0301", "👍", "&nbsp;", "&#10;", "&#9;", "&amp;"]
    chosen = random.Random(19)
    for _ in range(3000):
        text = "".join(chosen.choice(pieces) for _ in range(chosen.randint(0, 30)))
        plain = text.replace("&nbsp;", "\xa0").replace("&#10;", "\n").replace("&#9;", "\t").replace("&amp;", "&")
        expected = "\n".join(filter(None, (" ".join(line.split()) for line in plain.split("\n"))))
        assert html_to_text(f"<p>{text}</p>") == expected, repr(text)
        assert html_to_text(text.replace("&", "+")) == "\n".join(
            filter(None, (" ".join(line.split()) for line in text.replace("&", "+").split("\n")))
        ), repr(text)


def test_ascii_folds_stay_ascii():
    """The ASCII fast path folds with a bytes table: it relies on no ASCII character folding beyond ASCII."""
    from newsmon.core.text import _tables

    for table in _tables():
        assert (table[:128] < 128).all()
    every_ascii = "".join(map(chr, range(128)))
    assert word_chars(every_ascii).tolist() == _tables()[1][:128].tolist()
    assert fold_text(every_ascii) == fold_text(every_ascii + "é")[:-1]
