/* The main map's folding boxes, <details> over the map: the legend (bottom left) and the layer
 * switch (top right). Each is open or closed as the user last left it (kept in the browser:
 * localStorage "nsp-legend-open", "nsp-layers-open"). Without a choice a box starts open on a
 * map at least MIN_HEIGHT px tall and closed on a shorter one: on a 1366x768 laptop the
 * legend covered most of the map's lower left, and on a 1600x1000 window the layer switch
 * covered the country's north-east border.
 *
 * The layer switch's title counts the layers switched off ("Layers · 2 off"), so a closed box
 * still tells that something is hidden; the words come from its data-nsp-off ("{n} off"). */
(function () {
    const BOXES = {"nsp-legend-box": "nsp-legend-open", "nsp-layer-box": "nsp-layers-open"};
    const MIN_HEIGHT = 700;

    function countOff(box) {
        const out = box.querySelector(".nsp-layers-off");
        if (!out) return;
        const n = box.querySelectorAll("input[type=checkbox]:not(:checked)").length;
        out.textContent = n ? " · " + (box.getAttribute("data-nsp-off") || "{n} off").replace("{n}", n) : "";
    }

    function setUp(box, key) {
        box.setAttribute("data-nsp-box", "1");
        let saved = null;
        try { saved = localStorage.getItem(key); } catch (e) { /* storage off: no memory */ }
        const wrap = box.parentElement;
        box.open = saved !== null ? saved === "1" : !(wrap && wrap.clientHeight < MIN_HEIGHT);
        // a choice is a click on the summary (a key press on it clicks too); "toggle" events
        // also come from rendering and from the line above
        const summary = box.querySelector("summary");
        if (summary) summary.addEventListener("click", function () {
            try { localStorage.setItem(key, box.open ? "0" : "1"); } catch (e) { /* as above */ }
        });
        box.addEventListener("change", () => countOff(box));
        countOff(box);
    }

    function scan() {
        for (const [cls, key] of Object.entries(BOXES)) {
            document.querySelectorAll("details." + cls + ":not([data-nsp-box])").forEach(box => setUp(box, key));
        }
    }

    new MutationObserver(scan).observe(document.documentElement, {childList: true, subtree: true});
    scan();
})();
