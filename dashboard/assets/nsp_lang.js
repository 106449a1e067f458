/* The header's EN / LV links: reload this page in the other language and keep its query (the
 * main view's filters live in it); the server keeps the choice in the nsp_lang cookie.
 * Served by the app itself (dashboard/assets); no inline script, so the CSP holds. */
document.addEventListener("click", function (event) {
    "use strict";
    const link = event.target.closest ? event.target.closest("a.nsp-lang-link") : null;
    if (!link) {
        return;
    }
    event.preventDefault();
    const params = new URLSearchParams(window.location.search);
    params.set("lang", link.getAttribute("data-lang"));
    window.location.assign(window.location.pathname + "?" + params.toString());
});
