// Audience personalisation: one choice, kept in localStorage, applied on every page: an
// article's wording, its question and the page title, and the titles in listings.
// Without JavaScript the selector stays hidden and the default audience's wording shows.
(function () {
  "use strict";
  var KEY = "guideline-audience";

  function stored() {
    try { return window.localStorage.getItem(KEY); } catch (e) { return null; }
  }
  function remember(id) {
    try { window.localStorage.setItem(KEY, id); } catch (e) { /* private mode: this page only */ }
  }

  function apply(article, wanted) {
    var fallback = article.getAttribute("data-default-audience");
    var variants = article.querySelectorAll("[data-audience-variant]");
    var available = false;
    variants.forEach(function (v) {
      if (v.getAttribute("data-audience-variant") === wanted) { available = true; }
    });
    var shown = available ? wanted : fallback;
    variants.forEach(function (v) {
      v.hidden = v.getAttribute("data-audience-variant") !== shown;
    });
    article.querySelectorAll("[data-audience-missing]").forEach(function (note) {
      note.hidden = available || note.getAttribute("data-audience-missing") !== wanted;
    });
    article.querySelectorAll("[data-audience-choice]").forEach(function (button) {
      var on = button.getAttribute("data-audience-choice") === wanted;
      button.setAttribute("aria-pressed", on ? "true" : "false");
    });
    document.documentElement.setAttribute("data-audience", wanted);
    retitle(article);
    return available;
  }

  function retitle(article) {
    // The tab's title follows the question in the wording shown.
    var question = article.querySelector(".gp-question");
    if (!question || !question.querySelector("[data-audience-variant]")) { return; }
    var parts = document.title.split(" - ");
    var site = parts.length > 1 ? parts[parts.length - 1] : "";
    var shown = question.querySelector("[data-audience-variant]:not([hidden])");
    if (shown) { document.title = shown.textContent.trim() + (site ? " - " + site : ""); }
  }

  function applyListings(wanted) {
    // Home, topic and tag pages: each title in the reader's wording where one exists.
    document.querySelectorAll(".gp-worded").forEach(function (group) {
      var options = group.querySelectorAll("[data-audience-variant]");
      var has = group.querySelector('[data-audience-variant="' + wanted + '"]');
      options.forEach(function (option) {
        option.hidden = has ? option !== has : !option.hasAttribute("data-audience-default");
      });
    });
  }

  function announce(article, wanted, available) {
    // A polite live region: a screen reader hears that the wording changed, and to which.
    var status = article.querySelector("[data-audience-status]");
    if (!status) { return; }
    var text;
    if (available) {
      var button = article.querySelector('[data-audience-choice="' + wanted + '"]');
      text = "Showing the wording for " + (button ? button.textContent.trim() : wanted) + ".";
    } else {
      var note = article.querySelector('[data-audience-missing="' + wanted + '"]');
      text = note ? note.textContent.trim() : "";
    }
    status.textContent = "";
    window.setTimeout(function () { status.textContent = text; }, 50);
  }

  function revealTarget(article) {
    // A search result or link may point into another audience's wording: show that wording.
    if (!window.location.hash) { return; }
    var target = document.getElementById(decodeURIComponent(window.location.hash.slice(1)));
    if (!target) { return; }
    var variant = target.closest("[data-audience-variant]");
    if (variant && variant.hidden) {
      // Arriving from a search hit in another wording is a choice too: remember it.
      var id = variant.getAttribute("data-audience-variant");
      remember(id);
      apply(article, id);
      target.scrollIntoView();
    }
  }

  function init() {
    var chosen = stored();
    if (chosen) { applyListings(chosen); }
    var article = document.querySelector(".gp-article");
    if (!article) { return; }
    var selector = article.querySelector(".gp-audience");
    if (selector) { selector.hidden = false; }
    apply(article, stored() || article.getAttribute("data-default-audience"));
    article.querySelectorAll("[data-audience-choice]").forEach(function (button) {
      button.addEventListener("click", function () {
        var id = button.getAttribute("data-audience-choice");
        remember(id);
        announce(article, id, apply(article, id));
      });
    });
    revealTarget(article);
    window.addEventListener("hashchange", function () { revealTarget(article); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
