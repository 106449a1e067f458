/* The main page's chosen event (dashboard/components/event_list.py): a ring around it on the
 * main map and on the details' small map. Namespace nsp.floor. */
window.nsp = Object.assign({}, window.nsp, {
    floor: {
        highlightPoint: function (feature, latlng) {
            return L.marker(latlng, {
                icon: L.divIcon({html: '<div class="nsp-highlight-ring"></div>', className: "nsp-highlight",
                                 iconSize: [44, 44]}),
                interactive: false, keyboard: false, zIndexOffset: -100});
        }
    }
});
