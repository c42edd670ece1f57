// Filters by verdict: show only the tests (summary rows and sections) with one verdict.
// Without JavaScript the buttons stay hidden and every test is shown.
(function () {
  var bar = document.querySelector(".filters");
  if (!bar) return;
  var buttons = bar.querySelectorAll("button[data-filter]");
  function show(verdict) {
    document.querySelectorAll("[data-verdict]").forEach(function (item) {
      item.hidden = verdict !== "all" && item.getAttribute("data-verdict") !== verdict;
    });
    buttons.forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.getAttribute("data-filter") === verdict));
    });
  }
  buttons.forEach(function (button) {
    button.addEventListener("click", function () { show(button.getAttribute("data-filter")); });
  });
  bar.hidden = false;
})();
