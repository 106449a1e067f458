/* Cross-filtering on the main page (dashboard/pages/main/crossfilter.py): a click on a row of the section
 * table, on a section's line on the map or on a category of the legend is a "pick" in the
 * main-pick store, which filters the view; Esc is the pick that undoes the last one. The
 * chart's bars go through its own clickData. Other pages (the wall) are left alone. */
window.nsp = Object.assign({}, window.nsp, {
    crossfilter: (function () {
        let n = 0;
        function pick(kind, value) {
            if (!document.querySelector(".nsp-page-main") || !window.dash_clientside || !window.dash_clientside.set_props) {
                return false;
            }
            n += 1;
            window.dash_clientside.set_props("main-pick", {data: {kind: kind, value: value, n: n}});
            return true;
        }
        document.addEventListener("click", function (e) {
            const row = e.target.closest && e.target.closest("#main-section-table tbody tr");
            if (row && row.id) {
                try {
                    const code = JSON.parse(row.id).code;
                    if (code) pick("section", code);
                } catch (err) { /* a row without a section's id */ }
                return;
            }
            const cat = e.target.closest && e.target.closest("#main-legend [data-nsp-cat]");
            if (cat) pick("category", cat.getAttribute("data-nsp-cat"));
        });
        document.addEventListener("keydown", function (e) {
            if (e.key !== "Escape" || e.defaultPrevented) return;
            const el = document.activeElement;
            // Esc in a text field or an open menu is theirs (it closes the menu, clears the field)
            if (el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.isContentEditable)) return;
            if (document.querySelector(".dash-dropdown-content")) return;
            pick("undo", null);
        });
        return {pick: pick};
    })()
});
