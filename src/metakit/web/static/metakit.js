// Keyboard shortcuts of the screening page: i include, e exclude (the first press picks
// the reason list when no reason is chosen; Enter there excludes), m maybe, n next (skip),
// u undo. Keys typed in a text field are left alone.
document.addEventListener("keydown", function (event) {
  var t = event.target;
  if (event.ctrlKey || event.metaKey || event.altKey) { return; }
  if (t && t.id === "reason" && event.key === "Enter") {
    event.preventDefault();
    document.querySelector('[data-key="e"]').click();
    return;
  }
  if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable)) { return; }
  var el = document.querySelector('[data-key="' + event.key.toLowerCase() + '"]');
  if (!el) { return; }
  event.preventDefault();
  var reason = document.getElementById("reason");
  if (event.key.toLowerCase() === "e" && reason && !reason.value) { reason.focus(); return; }
  el.click();
});
