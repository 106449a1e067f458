/* Static markup as one Dash component (dashboard/components/static.py): the element, with its
 * id, class, style, title and data-/aria- attributes, holding the HTML the server made of the
 * page's own html and dash_svg components (every text and value escaped there). */
window.nsp_components = Object.assign({}, window.nsp_components, {
    Static: function Static(props) {
        const attrs = {dangerouslySetInnerHTML: {__html: props.html || ""}};
        for (const name of ["id", "className", "style", "title"]) {
            if (props[name] !== undefined && props[name] !== null) attrs[name] = props[name];
        }
        for (const name in props) {
            if (name.startsWith("data-") || name.startsWith("aria-")) attrs[name] = props[name];
        }
        return window.React.createElement(props.tag || "div", attrs);
    }
});
