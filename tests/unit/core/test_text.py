from newsmon.core.text import detect_language, fold_text, html_to_text, strip_dateline


def test_html_to_text_keeps_paragraphs_and_drops_code():
    markup = (
        "<html><head><title>T</title><style>p{}</style></head><body><script>var x = 1;</script>"
        "<nav>Home</nav><p>First &amp; <b>bold</b> line.</p><!-- note --><p>Second<br>line</p></body></html>"
    )
    assert html_to_text(markup) == "First & bold line.\nSecond\nline"


def test_html_to_text_plain_text_is_only_tidied():
    assert html_to_text("  a  b \n\n\n c ") == "a b\nc"
    assert html_to_text("5 < 6 and AT&T") == "5 < 6 and AT&T"


def test_fold_text_folds_quotes_dashes_case_and_space():
    assert fold_text("“Iran’s”  —\tTREATY «x»") == "\"iran's\" - treaty \"x\""


def test_fold_text_folds_persian_and_russian_variants():
    assert fold_text("كيك") == fold_text("کیک")  # Arabic kaf/yeh vs Persian
    assert fold_text("۲۰۲۵ و ٣") == "2025 و 3"
    assert fold_text("می\u200cگوید") == "می گوید"
    assert fold_text("Ёлка") == "елка"
    assert fold_text("كِتابٌ") == fold_text("کتاب")  # harakat dropped


def test_detect_language_by_script():
    assert detect_language("Iran and Russia signed a treaty") == "en"
    assert detect_language("Россия и Иран подписали договор") == "ru"
    assert detect_language("ایران و روسیه پیمان امضا کردند") == "fa"
    assert detect_language("12345 !!") == ""


def test_strip_dateline_variants():
    cases = {
        "TEHRAN, Nov. 8 (Agency) - Russian officials said": "russian officials said",
        "МОСКВА, 8 ноября — РИА Новости. Россия": "риа новости. россия",
        "Москва. 8 ноября. /ТАСС/. Россия и Иран": "россия и иран",
        "تهران - ایرنا - رئیس جمهور گفت": "رئیس جمهور گفت",
        "Iran-Russia ties grow as officials meet": "iran-russia ties grow as officials meet",
    }
    for text, body in cases.items():
        assert strip_dateline(fold_text(text)) == body
