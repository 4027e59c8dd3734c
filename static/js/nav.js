// Fold the staff navigation behind its "Menu" button on narrow screens. Without this module the
// button stays hidden and the links stay shown, so every page works without JavaScript.
const toggle = document.querySelector("button.nav-toggle[aria-controls]");
const menu = toggle && document.getElementById(toggle.getAttribute("aria-controls"));

if (toggle && menu) {
  const setOpen = (open) => {
    toggle.setAttribute("aria-expanded", String(open));
    menu.dataset.folded = String(!open);
  };
  setOpen(false);
  toggle.hidden = false;
  toggle.addEventListener("click", () => setOpen(toggle.getAttribute("aria-expanded") !== "true"));
  menu.addEventListener("keydown", (event) => {
    // Escape closes the open menu and hands focus back to its button (only while it shows).
    if (event.key === "Escape" && toggle.getAttribute("aria-expanded") === "true" && toggle.offsetParent) {
      setOpen(false);
      toggle.focus();
    }
  });
}
