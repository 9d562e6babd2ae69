// Material opens its drawer and its phone search with <label>s, which no keyboard can reach: make
// them buttons. guideline.css hides the closed drawer and search from focus altogether.
(function () {
  "use strict";
  var NAMES = { __drawer: "Navigation", __search: "Search" };

  function opened(id) {
    if (id === "__drawer") {
      var link = document.querySelector(".md-sidebar--primary .md-nav__link[href]");
      if (link) { link.focus(); }
    } else {
      var query = document.querySelector("[data-md-component=search-query]");
      if (query) { query.focus(); }
    }
  }

  function init() {
    // The search results box takes focus only through its results: empty, it is a dead stop.
    document.querySelectorAll(".md-search__scrollwrap[tabindex]").forEach(function (box) {
      box.removeAttribute("tabindex");
    });
    document.querySelectorAll(".md-header label.md-header__button[for]").forEach(function (label) {
      var id = label.getAttribute("for");
      var toggle = document.getElementById(id);
      if (!NAMES[id] || !toggle) { return; }
      label.setAttribute("role", "button");
      label.setAttribute("tabindex", "0");
      label.setAttribute("aria-label", NAMES[id]);
      label.addEventListener("keydown", function (event) {
        if (event.key !== "Enter" && event.key !== " ") { return; }
        event.preventDefault();
        event.stopPropagation(); // Material clicks a focused label on Enter too: once is enough
        label.click();
        if (toggle.checked) { window.setTimeout(function () { opened(id); }, 0); }
      });
    });
    // Escape closes an open drawer and gives focus back to its button (before Material's own
    // handler, which would close it and leave focus nowhere).
    document.addEventListener("keydown", function (event) {
      var drawer = document.getElementById("__drawer");
      if (event.key !== "Escape" || !drawer || !drawer.checked) { return; }
      drawer.checked = false;
      drawer.dispatchEvent(new Event("change"));
      var button = document.querySelector(".md-header label.md-header__button[for=__drawer]");
      if (button) { button.focus(); }
    }, true);
    // Tabbing out of the open drawer closes it: focus never sits behind the overlay.
    document.addEventListener("focusin", function (event) {
      var drawer = document.getElementById("__drawer");
      if (!drawer || !drawer.checked || event.target.closest(".md-sidebar--primary")) { return; }
      drawer.checked = false;
      drawer.dispatchEvent(new Event("change"));
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
