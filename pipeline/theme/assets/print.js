// Fills the print-only block (partials/print-meta.html): the page's address, the date printed
// and, on an article, who approved it and when it was last reviewed.
(function () {
  "use strict";
  var DATE = new Intl.DateTimeFormat("en-US", { year: "numeric", month: "long", day: "numeric" });

  function isoDay(text) {
    var m = /^(\d{4})-(\d{2})-(\d{2})/.exec(text || "");
    return m ? DATE.format(new Date(+m[1], +m[2] - 1, +m[3])) : "";
  }

  function pageData() {
    var script = document.querySelector(".gp-article script[type='application/ld+json']");
    if (!script) { return {}; }
    try { return JSON.parse(script.textContent) || {}; } catch (e) { return {}; }
  }

  function review(article) {
    if (!article) { return ""; }
    var data = pageData();
    var names = article.getAttribute("data-approvers") ||
      (data.reviewedBy || []).map(function (p) { return p && p.name; }).filter(Boolean).join("; ");
    var reviewed = isoDay(article.getAttribute("data-approved-on") || data.lastReviewed);
    var due = isoDay(article.getAttribute("data-review-due"));
    var parts = [];
    if (names) { parts.push("Approved by " + names); }
    if (reviewed) { parts.push("last reviewed " + reviewed); }
    if (due) { parts.push("next review due " + due); }
    return parts.length ? " · " + parts.join("; ") : "";
  }

  function fill() {
    var block = document.querySelector("[data-print-meta]");
    if (!block) { return; }
    var url = block.querySelector("[data-print-url]");
    if (url && !url.textContent.trim()) { url.textContent = window.location.href.split("#")[0]; }
    block.querySelector("[data-print-date]").textContent = DATE.format(new Date());
    block.querySelector("[data-print-review]").textContent = review(document.querySelector(".gp-article"));
  }

  window.addEventListener("beforeprint", fill);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", fill);
  } else {
    fill();
  }
})();
