// Size the web view's iframe to the email so the page scrolls as one document.
const frame = document.getElementById("webview-frame");
if (frame) {
  const fit = () => {
    try {
      const doc = frame.contentDocument;
      if (doc && doc.body) frame.style.height = `${doc.documentElement.scrollHeight + 16}px`;
    } catch (error) {
      // A cross-origin frame keeps its CSS height.
    }
  };
  frame.addEventListener("load", () => {
    fit();
    new ResizeObserver(fit).observe(frame.contentDocument.documentElement);
  });
}
