// The HTML report's style sheet and script, inlined into every page (the page loads nothing).
#include <string_view>

namespace lockhound::report {

extern const std::string_view kHtmlStyle;
extern const std::string_view kHtmlScript;

const std::string_view kHtmlStyle = R"css(
:root { --fg: #1d1d1f; --muted: #5f6368; --line: #d9d9de; --bg: #ffffff; --panel: #f6f7f9;
  --error: #c62828; --warning: #b26a00; --note: #1565c0; --accent: #1565c0; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
  color: var(--fg); background: var(--bg); }
header, nav, main, section.block, footer { max-width: 1200px; margin: 0 auto; padding: 0 20px; }
header { padding-top: 18px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 22px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 16px; margin: 0 0 6px; }
h4 { font-size: 14px; margin: 14px 0 6px; color: var(--muted); text-transform: uppercase; letter-spacing: .03em; }
h5 { font-size: 13px; margin: 0 0 4px; font-weight: 600; }
code, pre, .stack, .mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12.5px; }
pre { background: var(--panel); padding: 10px; overflow-x: auto; border-radius: 6px; }
a { color: var(--accent); }
.muted { color: var(--muted); }
.totals { font-size: 15px; margin: 6px 0; }
.totals .n { font-weight: 700; }
table { border-collapse: collapse; }
table.stats td, table.edges td, table.edges th { padding: 2px 10px 2px 0; vertical-align: top; }
table.edges th { text-align: left; color: var(--muted); font-weight: 600; }
nav#filters { position: sticky; top: 0; z-index: 5; background: rgba(255,255,255,.96);
  border-bottom: 1px solid var(--line); padding-top: 8px; padding-bottom: 8px; display: flex; flex-wrap: wrap;
  gap: 8px 18px; align-items: center; }
nav#filters fieldset { border: 0; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: 4px 12px; }
nav#filters legend { float: left; font-weight: 600; margin-right: 8px; }
nav#filters label { white-space: nowrap; cursor: pointer; }
#shown-count { color: var(--muted); }
button { font: inherit; padding: 2px 10px; border: 1px solid var(--line); border-radius: 4px; background: var(--panel); cursor: pointer; }
.legend span { margin-right: 14px; white-space: nowrap; }
.swatch { display: inline-block; width: 22px; height: 0; border-top: 3px solid; vertical-align: middle; margin-right: 4px; }
.swatch.cycle { border-color: #c62828; } .swatch.irq { border-color: #ef6c00; border-top-style: dashed; }
.swatch.guarded { border-color: #9e9e9e; border-top-style: dashed; } .swatch.plain { border-color: #555; border-top-width: 1px; }
.graph-box { overflow: auto; border: 1px solid var(--line); border-radius: 6px; padding: 8px; background: #fff; max-height: 80vh; }
.graph-box svg { max-width: 100%; height: auto; }
.graph-box svg .node, .graph-box svg .edge { transition: opacity .15s; }
.graph-box svg .dim { opacity: .18; }
.graph-box svg .node.hl polygon, .graph-box svg .node.hl path, .graph-box svg .node.hl ellipse { stroke: var(--accent); stroke-width: 5px; }
.graph-box svg a { cursor: pointer; }
ul.classes { columns: 3 220px; padding-left: 18px; }
ul.classes li { break-inside: avoid; margin-bottom: 2px; }
article.finding { border: 1px solid var(--line); border-left: 5px solid var(--muted); border-radius: 6px; padding: 12px 16px; margin: 14px 0; }
article.finding.sev-error { border-left-color: var(--error); }
article.finding.sev-warning { border-left-color: var(--warning); }
article.finding.sev-note { border-left-color: var(--note); }
article.finding.flash { box-shadow: 0 0 0 3px rgba(21,101,192,.45); }
article.finding[hidden] { display: none; }
.badge { display: inline-block; font-size: 11px; font-weight: 700; text-transform: uppercase; letter-spacing: .04em;
  padding: 1px 7px; border-radius: 10px; color: #fff; background: var(--muted); vertical-align: 2px; }
.badge.error { background: var(--error); } .badge.warning { background: var(--warning); } .badge.note { background: var(--note); }
.type { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12.5px; color: var(--muted); font-weight: 400; }
.summary { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-weight: 600; margin: 6px 0; word-break: break-word; }
dl.details { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 6px 0; }
dl.details dt { color: var(--muted); } dl.details dd { margin: 0; word-break: break-word; }
.edge { border-top: 1px dashed var(--line); padding: 8px 0; }
.edge-head { font-weight: 600; margin-bottom: 6px; }
.sites { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
@media (max-width: 800px) { .sites { grid-template-columns: 1fr; } }
.site { background: var(--panel); border-radius: 6px; padding: 8px 10px; min-width: 0; }
ol.stack { margin: 0; padding-left: 28px; overflow-x: auto; }
ol.stack li { white-space: pre; }
ol.stack li.user { font-weight: 700; }
table.scenario { margin: 4px 0; font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12.5px; }
table.scenario th, table.scenario td { padding: 2px 24px 2px 0; text-align: left; }
table.scenario th { border-bottom: 1px solid var(--line); }
.deadlock { color: var(--error); font-weight: 700; font-family: ui-monospace, monospace; }
.cause, .fix { margin: 8px 0; padding: 8px 10px; border-radius: 6px; }
.cause { background: #fff8e1; } .fix { background: #e8f5e9; }
.cause strong, .fix strong { margin-right: 6px; }
footer { color: var(--muted); padding-top: 20px; padding-bottom: 30px; }
)css";

// Filters by type and by class (kept in the address as ?type=…&class=…, so a filtered view can
// be shared or reloaded), the graph dimmed to what the filter shows, links between findings and
// graph nodes both ways.
const std::string_view kHtmlScript = R"js(
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('lh-data').textContent);
  var findings = Array.prototype.slice.call(document.querySelectorAll('article.finding'));
  var boxes = Array.prototype.slice.call(document.querySelectorAll('#type-filter input[type=checkbox]'));
  var select = document.getElementById('class-filter');
  var count = document.getElementById('shown-count');

  function visibleIds() {
    var types = {};
    boxes.forEach(function (b) { if (b.checked) types[b.value] = true; });
    var cls = select.value, shown = {};
    findings.forEach(function (f, i) {
      var classes = JSON.parse(f.getAttribute('data-classes'));
      var show = !!types[f.getAttribute('data-type')] && (cls === '' || classes.indexOf(cls) >= 0);
      f.hidden = !show;
      if (show) shown[i] = true;
    });
    return shown;
  }

  function dimGraph(shown, filtered) {
    function any(list) {
      if (!filtered) return true;
      for (var k = 0; k < list.length; k++) if (shown[list[k]]) return true;
      return false;
    }
    data.nodes.forEach(function (n, i) {
      var el = document.getElementById('lh-node-' + i);
      if (el && el.classList) el.classList.toggle('dim', !any(n.findings));
    });
    data.edges.forEach(function (e, i) {
      var el = document.getElementById('lh-edge-' + i);
      if (el && el.classList) el.classList.toggle('dim', !any(e.findings));
    });
  }

  function apply(updateAddress) {
    var shown = visibleIds();
    var n = Object.keys(shown).length;
    var allTypes = boxes.every(function (b) { return b.checked; });
    count.textContent = n + ' of ' + findings.length + ' findings shown';
    dimGraph(shown, !(allTypes && select.value === ''));
    if (updateAddress && window.history && history.replaceState) {
      var q = new URLSearchParams();
      if (!allTypes) q.set('type', boxes.filter(function (b) { return b.checked; }).map(function (b) { return b.value; }).join(','));
      if (select.value !== '') q.set('class', select.value);
      var s = q.toString();
      try { history.replaceState(null, '', location.pathname + (s ? '?' + s : '') + location.hash); } catch (e) { /* file: URLs may refuse */ }
    }
  }

  function fromAddress() {
    var q = new URLSearchParams(location.search);
    if (q.has('type')) {
      var want = q.get('type').split(',');
      boxes.forEach(function (b) { b.checked = want.indexOf(b.value) >= 0; });
    }
    if (q.has('class')) {
      var c = q.get('class');
      var known = Array.prototype.some.call(select.options, function (o) { return o.value === c; });
      select.value = known ? c : '';
    }
  }

  function flash(el) {
    if (!el) return;
    el.classList.add('flash');
    setTimeout(function () { el.classList.remove('flash'); }, 1500);
  }

  function highlightNode(i) {
    Array.prototype.forEach.call(document.querySelectorAll('.node.hl'), function (el) { el.classList.remove('hl'); });
    var el = document.getElementById('lh-node-' + i);
    if (el && el.classList) el.classList.add('hl');
  }

  // A class link in a finding: show the class in the graph.
  document.addEventListener('click', function (ev) {
    var a = ev.target.closest ? ev.target.closest('a[data-node]') : null;
    if (a) { highlightNode(a.getAttribute('data-node')); return; }
    // A node of the graph: show the findings of its class, and go to the first.
    var g = ev.target.closest ? ev.target.closest('g.node') : null;
    if (g && g.id && g.id.indexOf('lh-node-') === 0) {
      ev.preventDefault();
      var i = Number(g.id.slice(8));
      var node = data.nodes[i];
      if (!node) return;
      select.value = node.name;
      boxes.forEach(function (b) { b.checked = true; });
      apply(true);
      highlightNode(i);
      var first = findings[node.findings[0]];
      if (first) { first.scrollIntoView({block: 'start'}); flash(first); }
    }
  });

  boxes.forEach(function (b) { b.addEventListener('change', function () { apply(true); }); });
  select.addEventListener('change', function () { apply(true); });
  document.getElementById('show-all').addEventListener('click', function () {
    boxes.forEach(function (b) { b.checked = true; });
    select.value = '';
    apply(true);
  });
  fromAddress();
  apply(false);
  document.documentElement.setAttribute('data-ready', '1');
})();
)js";

}  // namespace lockhound::report
