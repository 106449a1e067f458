/* The main map's legend (<details class="nsp-legend-box">), open or closed as the user last
 * left it (kept in the browser, like the layer switch: localStorage "nsp-legend-open").
 * Without a choice it starts open on a map at least MIN_HEIGHT px tall and closed on a
 * shorter one (a laptop), where it covered most of the map's lower left. */
(function () {
    const KEY = "nsp-legend-open";
    const MIN_HEIGHT = 700;

    function setUp(box) {
        box.setAttribute("data-nsp-legend", "1");
        let saved = null;
        try { saved = localStorage.getItem(KEY); } catch (e) { /* storage off: no memory */ }
        const wrap = box.parentElement;
        const open = saved !== null ? saved === "1" : !(wrap && wrap.clientHeight < MIN_HEIGHT);
        box.open = open;
        // a choice is a click on the summary (a key press on it clicks too); "toggle" events
        // also come from rendering and from the line above
        const summary = box.querySelector("summary");
        if (summary) summary.addEventListener("click", function () {
            try { localStorage.setItem(KEY, box.open ? "0" : "1"); } catch (e) { /* as above */ }
        });
    }

    function scan() {
        document.querySelectorAll("details.nsp-legend-box:not([data-nsp-legend])").forEach(setUp);
    }

    new MutationObserver(scan).observe(document.documentElement, {childList: true, subtree: true});
    scan();
})();
