/* newsmon live page. Data arrives as JSON over server-sent events (/live/events).
 * Every string from an article is placed with textContent or setAttribute on a
 * known attribute; links only for http(s). Nothing here parses markup.
 * Each article string sits in its own element with dir="auto" (a <bdi> inside a line),
 * so Arabic and Persian titles and outlet names read right to left without turning the
 * numbers and names around them. */
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"];
let latest = null;
let basis = localStorage.getItem("newsmon.basis") || "indexed";

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
  return node;
}

function safeHref(url) {
  try {
    const parsed = new URL(url);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch (_) {
    return null;
  }
}

function link(url, text, lang) {
  const href = safeHref(url || "");
  const node = href ? el("a", { href, rel: "noopener noreferrer", target: "_blank" }) : el("span");
  node.textContent = text || url || "(untitled)";
  node.setAttribute("dir", "auto");
  if (lang) node.setAttribute("lang", lang);
  node.className = "title";
  return node;
}

function isolated(text, props) {
  return el("bdi", { ...(props || {}), text });
}

function joined(names, props) {
  const parts = [];
  names.forEach((name, i) => {
    if (i) parts.push(", ");
    parts.push(isolated(name, props));
  });
  return parts;
}

function colour(topics, topic) {
  return PALETTE[Math.max(0, topics.indexOf(topic)) % PALETTE.length];
}

function when(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const sameDay = date.toDateString() === new Date().toDateString();
  return sameDay ? date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
                 : date.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}

function tag(topics, topic) {
  const node = el("span", { class: "tag", text: topic });
  node.style.background = colour(topics, topic);
  return node;
}

function renderChart(articles) {
  const chart = articles.charts[basis];
  const topics = Object.keys(articles.topics);
  const width = 600, height = 200, left = 28, bottom = 18;
  const n = chart.buckets.length;
  const totals = chart.buckets.map((_, i) => topics.reduce((sum, t) => sum + ((chart.series[t] || [])[i] || 0), 0));
  const max = Math.max(1, ...totals);
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: "none" });
  for (const fraction of [0, 0.5, 1]) {
    const y = (height - bottom) * (1 - fraction);
    root.append(svg("line", { x1: left, x2: width, y1: y, y2: y, class: "grid" }));
    const label = svg("text", { x: 0, y: Math.max(10, y + 3) });
    label.textContent = String(Math.round(max * fraction));
    root.append(label);
  }
  const step = n ? (width - left) / n : 0;
  chart.buckets.forEach((bucket, i) => {
    let y = height - bottom;
    for (const topic of topics) {
      const count = (chart.series[topic] || [])[i] || 0;
      if (!count) continue;
      const h = (height - bottom) * count / max;
      y -= h;
      const rect = svg("rect", { x: left + i * step + 1, y, width: Math.max(1, step - 2), height: h, fill: colour(topics, topic) });
      const title = svg("title");
      title.textContent = `${topic}: ${count} at ${when(bucket)}`;
      rect.append(title);
      root.append(rect);
    }
    if (i % Math.max(1, Math.ceil(n / 6)) === 0) {
      const label = svg("text", { x: left + i * step, y: height - 4 });
      label.textContent = when(bucket);
      root.append(label);
    }
  });
  document.getElementById("chart").replaceChildren(root);
  const rows = topics.map((topic) => {
    const inWindow = (chart.series[topic] || []).reduce((a, b) => a + b, 0);
    const name = el("td", {}, el("span", { class: "swatch" }), topic);
    name.firstChild.style.background = colour(topics, topic);
    return el("tr", { "data-topic": topic }, name,
      el("td", { class: "count window", text: String(inWindow) }),
      el("td", { class: "count total", text: String(articles.topics[topic]) }));
  });
  document.querySelector("#topic-counts tbody").replaceChildren(...rows);
  document.getElementById("window-hours").textContent = String(articles.window.hours);
}

const BODIES = ["feed", "page", "teaser"];

function renderArrivals(articles) {
  for (const node of document.querySelectorAll(".window-hours")) node.textContent = String(articles.window.hours);
  const rows = articles.languages.map((row) => el("tr", { "data-language": row.language || "unknown" },
    el("td", {}, isolated(row.language || "not identified", { class: "lang" })),
    el("td", { class: "count articles", text: String(row.articles) }),
    ...BODIES.map((body) => el("td", { class: `count ${body}`, text: String(row.bodies[body]) }))));
  document.querySelector("#language-counts tbody").replaceChildren(...rows);
  const totals = document.getElementById("body-totals");
  totals.querySelector(".articles").textContent = String(articles.languages.reduce((sum, row) => sum + row.articles, 0));
  for (const body of BODIES) totals.querySelector(`.${body}`).textContent = String(articles.bodies[body]);
  const hosts = articles.hosts.map((host) => el("li", { "data-host": host.host, "data-state": host.state },
    isolated(host.host, { class: "host" }),
    el("span", { class: "badge state", text: ` ${host.state}` }),
    el("div", { class: "meta", text: `${host.teasers} teaser-only: ` + Object.entries(host.reasons).map(([r, n]) => `${r} ${n}`).join(", ") })));
  document.getElementById("hosts").replaceChildren(...hosts);
}

function renderIngest(data) {
  const ingest = data.articles.ingest;
  document.getElementById("ingest-rate").textContent = String(ingest.per_minute);
  document.getElementById("lag").textContent = data.lag === null || data.lag === undefined ? "?" : String(data.lag);
  document.getElementById("articles-total").textContent = String(data.articles.articles);
  document.getElementById("stories-total").textContent = String(data.stories.total);
  const width = 150, height = 30, n = Math.max(1, ingest.minutes.length), max = Math.max(1, ...ingest.minutes);
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: "none" });
  ingest.minutes.forEach((count, i) => {
    const h = height * count / max;
    root.append(svg("rect", { x: i * width / n + 0.5, y: height - h, width: width / n - 1, height: h }));
  });
  document.getElementById("ingest-spark").replaceChildren(root);
}

function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

function renderStories(data) {
  const topics = Object.keys(data.articles.topics);
  const items = data.stories.items.map((story) => {
    const others = story.sources.filter((name) => name !== story.source);
    const more = story.source_count - 1 - others.length;
    return el("li", { "data-story": story.story_id },
      link(story.url, story.title, story.language),
      ...story.titles.map((t) => el("div", { class: "also-title", dir: "auto", lang: t.language, text: t.title })),
      el("div", { class: "meta" },
        ...story.topics.map((t) => tag(topics, t)),
        el("span", { class: "badge articles", text: plural(story.articles, "article", "articles") }),
        ` · ${plural(story.source_count, "outlet", "outlets")} · `,
        el("span", { class: "languages", text: story.languages.join(", ") }),
        ` · first ${when(story.first_seen)}, last ${when(story.last_seen)}`),
      el("div", { class: "meta reported" }, isolated(story.source, { class: "source" }),
        ...(others.length ? [" · also reported by ", el("span", { class: "sources" }, ...joined(others)),
          more > 0 ? ` and ${more} more` : ""] : [])));
  });
  document.querySelector("#stories .list").replaceChildren(...items);
}

function renderAlerts(data) {
  const topics = Object.keys(data.articles ? data.articles.topics : {});
  const items = data.alerts.map((alert) => {
    if (alert.kind === "breaking-volume") {
      return el("li", { class: "alert-burst", "data-topic": alert.topic }, tag(topics, alert.topic),
        el("span", { class: "title", text: `breaking volume: ${alert.rate} articles vs baseline ${Number(alert.baseline).toFixed(1)}` }),
        el("div", { class: "meta", text: when(alert.created) }));
    }
    return el("li", { "data-topic": alert.topic, "data-cluster": alert.cluster_id },
      tag(topics, alert.topic), link(alert.url, alert.title),
      el("div", { class: "meta" }, isolated(alert.source), ` · alerted ${when(alert.created)}`));
  });
  document.querySelector("#alerts .list").replaceChildren(...items);
}

function setStatus(state, text) {
  const node = document.getElementById("status");
  node.dataset.state = state;
  node.textContent = text;
}

function render(data) {
  latest = data;
  if (data.articles) {
    renderChart(data.articles);
    renderArrivals(data.articles);
    renderIngest(data);
    renderStories(data);
  }
  renderAlerts(data);
  setStatus(data.status, data.status === "live" ? "live" : `${data.status}: ${data.error || "waiting for data"}`);
  document.getElementById("generated").textContent = `updated ${when(data.generated)}`;
}

function chooseBasis(next) {
  basis = next;
  localStorage.setItem("newsmon.basis", next);
  for (const button of document.querySelectorAll(".toggle button")) {
    button.setAttribute("aria-pressed", String(button.dataset.basis === next));
  }
  if (latest && latest.articles) renderChart(latest.articles);
}

function connect() {
  const source = new EventSource("/live/events");
  source.onmessage = (event) => render(JSON.parse(event.data));
  source.onerror = () => setStatus("offline", "reconnecting…");
}

document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll(".toggle button")) {
    button.addEventListener("click", () => chooseBasis(button.dataset.basis));
  }
  chooseBasis(basis);
  connect();
});
