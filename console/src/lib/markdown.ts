import DOMPurify from "dompurify";
import { Marked } from "marked";

/*
 * Upstream READMEs are untrusted: anyone can publish a model. Markdown may carry raw HTML, so
 * the rendered HTML goes through DOMPurify (no scripts, no event handlers, no javascript: or
 * other non-web URLs, no forms, frames or styles). Images and relative links are not fetched or
 * followed: the console loads nothing from another origin, and a relative path means a file
 * upstream, not on this service.
 */

const markdown = new Marked({ gfm: true, breaks: false, async: false });

const purifier = DOMPurify(window);

purifier.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A") {
    const target = node.getAttribute("href") ?? "";
    if (/^(https?:|mailto:)/i.test(target)) {
      node.setAttribute("target", "_blank");
      node.setAttribute("rel", "noopener noreferrer nofollow");
    } else {
      // Relative paths and #anchors would land on this service (or fight the hash router).
      node.removeAttribute("href");
      if (target) node.setAttribute("title", `Upstream link: ${target}`);
    }
  }
  if (node.tagName === "IMG") {
    const source = node.getAttribute("src") ?? "";
    if (!/^data:image\/(png|gif|jpe?g|webp);/i.test(source)) {
      // An image from elsewhere becomes a link to it: the console does not fetch it.
      const link = node.ownerDocument.createElement(/^https?:/i.test(source) ? "a" : "span");
      link.textContent = `[image: ${node.getAttribute("alt") || source || "no source"}]`;
      link.className = "readme-image";
      if (link.tagName === "A") {
        link.setAttribute("href", source);
        link.setAttribute("target", "_blank");
        link.setAttribute("rel", "noopener noreferrer nofollow");
      }
      node.replaceWith(link);
    }
  }
});

const PURIFY_CONFIG = {
  USE_PROFILES: { html: true },
  FORBID_TAGS: ["style", "form", "input", "button", "textarea", "select", "option", "iframe", "frame", "object", "embed", "video", "audio", "source", "track", "picture", "link", "meta", "base", "svg", "math"],
  FORBID_ATTR: ["style", "srcset", "action", "formaction", "background", "poster", "ping"],
  ALLOW_DATA_ATTR: false,
};

/** Drops a leading YAML front matter block (model card metadata), which is not Markdown. */
function withoutFrontMatter(text: string): string {
  return text.replace(/^\uFEFF?---\r?\n[\s\S]*?\r?\n---[ \t]*(\r?\n|$)/, "");
}

export function renderReadme(text: string): string {
  const html = markdown.parse(withoutFrontMatter(text)) as string;
  return purifier.sanitize(html, PURIFY_CONFIG);
}
