"""Markup that never changes in the browser, sent as one component instead of a tree of them.

Dash's browser renderer keeps every component of a page connected to its store: each change
of the store (a component mounting, a callback asked for, answered, drawn) is checked by every
component, and each component that mounts changes the store once more. A page's cost in the
browser grows with the square of its component count. Markup that no callback reads or writes
and no component of Dash's own lives in (the legend's symbols and rows, a table of text) is
therefore drawn by one component, :class:`Static`, from HTML made here of the same ``html`` and
``dash_svg`` components the page would have sent: the same elements, classes, styles and
attributes in the page, one component in Dash's store.

The HTML is made only of components: every text and attribute value is escaped, and only
attributes the components have (and ``data-*``, ``aria-*``, in the order of their names) are
written; a link to a ``javascript:`` or ``data:`` address is refused. The page's
Content-Security-Policy runs no script the markup could carry.
"""

from __future__ import annotations

import json
import re
from html import escape

from dash.development.base_component import Component

_VOID = frozenset({"area", "br", "col", "hr", "img", "input", "wbr"})
# React properties that are not a component's markup
_SKIP = frozenset({"children", "key", "n_clicks", "n_clicks_timestamp", "disable_n_clicks", "loading_state",
                   "setProps", "persistence", "persisted_props", "persistence_type"})
_HTML_NAMES = {"className": "class", "htmlFor": "for"}
_SVG_NAMES = {"className": "class", "xlinkHref": "xlink:href"}
# SVG attributes whose name is camelCase in the markup too (all others: kebab-case, as React writes them)
_SVG_CAMEL = frozenset({"viewBox", "preserveAspectRatio", "gradientUnits", "gradientTransform", "patternUnits",
                        "patternContentUnits", "patternTransform", "markerWidth", "markerHeight", "markerUnits",
                        "refX", "refY", "pathLength", "textLength", "lengthAdjust", "clipPathUnits", "maskUnits",
                        "maskContentUnits", "spreadMethod", "startOffset", "stdDeviation", "baseFrequency"})
# CSS properties a number is written to without a unit (React's list); any other gets "px"
_UNITLESS = frozenset({
    "animationIterationCount", "aspectRatio", "borderImageOutset", "borderImageSlice", "borderImageWidth",
    "columnCount", "columns", "flex", "flexGrow", "flexPositive", "flexShrink", "flexNegative", "flexOrder",
    "gridArea", "gridRow", "gridRowEnd", "gridRowSpan", "gridRowStart", "gridColumn", "gridColumnEnd",
    "gridColumnSpan", "gridColumnStart", "fontWeight", "lineClamp", "lineHeight", "opacity", "order", "orphans",
    "scale", "tabSize", "widows", "zIndex", "zoom", "fillOpacity", "floodOpacity", "stopOpacity",
    "strokeDasharray", "strokeDashoffset", "strokeMiterlimit", "strokeOpacity", "strokeWidth"})
_UNSAFE_URL = re.compile(r"^\s*(javascript|vbscript|data)\s*:", re.IGNORECASE)
_URL_ATTRS = frozenset({"href", "src", "action", "formaction", "xlink:href", "poster"})
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_:.-]*$")


def _kebab(name: str) -> str:
    return re.sub(r"[A-Z]", lambda m: "-" + m.group(0).lower(), name)


def _number(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _style(style: dict) -> str:
    out = []
    for name, value in style.items():
        if value is None or value == "" or isinstance(value, bool):
            continue
        css = name if name.startswith("--") else _kebab(name)
        if isinstance(value, (int, float)):
            value = _number(value) + ("" if value == 0 or name in _UNITLESS or name.startswith("--") else "px")
        out.append(f"{css}:{value}")
    return ";".join(out)


def _id(value) -> str:
    """An id as the page's DOM holds it: a dict id as Dash writes it (keys sorted, JSON)."""
    if isinstance(value, dict):
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + json.dumps(value[k], ensure_ascii=False)
                              for k in sorted(value)) + "}"
    return str(value)


def _attribute(name: str, value, svg: bool) -> str | None:
    if value is None or value is False:
        return None
    if name == "id":
        value = _id(value)
    elif name == "style":
        if not isinstance(value, dict):
            raise TypeError(f"a style is a dict, not {type(value).__name__}")
        value = _style(value)
    if name.startswith(("data-", "aria-")):
        attr = name
        if isinstance(value, bool):
            value = str(value).lower()
    elif svg:
        attr = _SVG_NAMES.get(name) or (name if name in _SVG_CAMEL else _kebab(name))
    else:
        attr = _HTML_NAMES.get(name, name.lower())
    if not _NAME.match(attr) or attr.startswith("on"):
        raise ValueError(f"not an attribute static markup may carry: {name!r}")
    if value is True:
        return attr
    if isinstance(value, (dict, list, tuple)):
        raise TypeError(f"attribute {name!r}: {type(value).__name__} is not markup")
    text = _number(value) if isinstance(value, (int, float)) else str(value)
    if attr in _URL_ATTRS and _UNSAFE_URL.match(text):
        raise ValueError(f"attribute {name!r}: a {text.split(':', 1)[0]}: address is refused")
    return f'{attr}="{escape(text, quote=True)}"'


def _tag(component: Component) -> tuple[str, bool]:
    namespace, kind = component._namespace, component._type
    if namespace == "dash_html_components":
        return kind.lower(), False
    if namespace == "dash_svg":
        return kind[0].lower() + kind[1:], True
    raise TypeError(f"{namespace}.{kind} is not static markup (only dash.html and dash_svg components are)")


def markup(value) -> str:
    """``value`` (a component, a string, a number or a list of them) as HTML."""
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, str):
        return escape(value, quote=False)
    if isinstance(value, (int, float)):
        return _number(value)
    if isinstance(value, (list, tuple)):
        return "".join(markup(v) for v in value)
    if not isinstance(value, Component):
        raise TypeError(f"{type(value).__name__} is not markup")
    tag, svg = _tag(value)
    attrs = [a for name in value._prop_names if name not in _SKIP
             and (a := _attribute(name, getattr(value, name, None), svg)) is not None]
    attrs += [a for name, v in sorted(vars(value).items()) if name.startswith(("data-", "aria-"))
              and name not in value._prop_names and (a := _attribute(name, v, svg)) is not None]
    opening = f"<{tag}{''.join(' ' + a for a in attrs)}>"
    if tag in _VOID:
        return opening
    return f"{opening}{markup(getattr(value, 'children', None))}</{tag}>"


class Static(Component):
    """One element (``tag``, ``id``, ``className``, ``style``, ``title``) holding ``html``: markup
    drawn by the browser as it is (dashboard/assets/nsp_static.js). Make it with :func:`static`."""

    _children_props: list = []
    _base_nodes = ["children"]
    _namespace = "nsp_components"
    _type = "Static"

    def __init__(self, html: str = "", tag: str = "div", id=None, className=None, style=None, title=None,
                 **kwargs):
        self._prop_names = ["id", "html", "tag", "className", "style", "title"]
        self._valid_wildcard_attributes = ["data-", "aria-"]
        self.available_properties = list(self._prop_names)
        self.available_wildcard_properties = ["data-", "aria-"]
        args = {"html": html, "tag": tag, "id": id, "className": className, "style": style, "title": title}
        super().__init__(**{k: v for k, v in args.items() if v is not None}, **kwargs)

    def __bool__(self) -> bool:
        return True  # a Component's len() counts its children, and this one has none: it is still there


def static(component: Component) -> Static:
    """``component`` (an ``html`` element, all of whose content is static markup) as one
    :class:`Static`: its element, with its id, class, style and title, and its content as HTML."""
    tag, svg = _tag(component)
    if svg or tag in _VOID:
        raise TypeError("static() takes an html element with content")
    extra = {name: getattr(component, name) for name in component._prop_names
             if name not in _SKIP | {"id", "className", "style", "title"} and getattr(component, name, None) is not None}
    extra.update({k: v for k, v in sorted(vars(component).items()) if k.startswith(("data-", "aria-"))})
    bad = [k for k in extra if not k.startswith(("data-", "aria-"))]
    if bad:
        raise TypeError(f"static(): the outer element's {', '.join(bad)} would be lost")
    return Static(html=markup(getattr(component, "children", None)), tag=tag, id=getattr(component, "id", None),
                  className=getattr(component, "className", None), style=getattr(component, "style", None),
                  title=getattr(component, "title", None), **extra)
