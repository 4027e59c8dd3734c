// On a phone a table wider than the screen scrolls inside its own box (pinwheel.css). Keyboard
// users must reach that box to scroll it, so a table that overflows takes focus, and one that
// fits again gives it back.
const tables = [...document.querySelectorAll("main table")];

function markOverflowing() {
  for (const table of tables) {
    if (table.scrollWidth > table.clientWidth + 1) table.tabIndex = 0;
    else table.removeAttribute("tabindex");
  }
}

if (tables.length) {
  markOverflowing();
  window.addEventListener("resize", markOverflowing);
}
