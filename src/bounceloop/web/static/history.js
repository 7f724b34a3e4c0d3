// Back and Forward, one answer at a time.
//
// The UI keeps no copy of its pages in the browser (htmx historyCacheSize 0: they hold mail
// data), so on Back htmx 2.0.11 fetches the popped URL and swaps the answer in. It never
// cancels the fetch before: after two quick Backs the slower answer could land last and show
// under the other URL. Each restore aborts the one before (a no-op once that one is done); an
// aborted request swaps nothing, so the page shows the URL the browser is on.
let restoring = null;
document.addEventListener("htmx:historyCacheMiss", (event) => {
  restoring?.abort();
  restoring = event.detail.xhr;
});
