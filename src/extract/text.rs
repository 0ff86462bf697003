//! HTML -> plain text: paragraphs (block elements) separated by a blank line (`"\n\n"`), `<br>`
//! as a line break, whitespace runs collapsed (kept in `<pre>`), entities decoded by the
//! parser, `script`/`style`/`noscript`/`template` dropped.

use scraper::{ElementRef, Node};

const BLOCKS: &[&str] = &[
    "p",
    "div",
    "section",
    "article",
    "blockquote",
    "ul",
    "ol",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "pre",
    "table",
    "tr",
    "header",
    "footer",
    "figure",
    "figcaption",
    "dl",
    "dt",
    "dd",
    "hr",
    "address",
    "aside",
    "nav",
    "main",
    "form",
    "details",
    "summary",
    "body",
    "html",
];
const DROP: &[&str] = &[
    "script", "style", "noscript", "template", "head", "iframe", "object",
];

/// Text of an element. `skip` names extra elements to drop (e.g. `nav` for readable text).
pub fn element_text(el: ElementRef<'_>, skip: &[&str]) -> String {
    let mut w = Writer::default();
    walk(el, skip, false, 0, &mut w);
    w.finish()
}

#[derive(Default)]
struct Writer {
    paras: Vec<String>,
    cur: String,
}

impl Writer {
    fn text(&mut self, s: &str, pre: bool) {
        if pre {
            self.cur.push_str(s);
            return;
        }
        for (i, part) in s.split(|c: char| c.is_ascii_whitespace()).enumerate() {
            if i > 0 && !self.cur.is_empty() && !self.cur.ends_with([' ', '\n']) {
                self.cur.push(' ');
            }
            self.cur.push_str(part);
        }
    }

    fn br(&mut self) {
        while self.cur.ends_with(' ') {
            self.cur.pop();
        }
        self.cur.push('\n');
    }

    fn flush(&mut self) {
        let p: Vec<&str> = self
            .cur
            .lines()
            .map(|l| l.trim_matches(|c: char| c.is_ascii_whitespace()))
            .collect();
        let joined = p.join("\n");
        let joined = joined.trim_matches('\n');
        if !joined.is_empty() {
            self.paras.push(joined.to_string());
        }
        self.cur.clear();
    }

    fn finish(mut self) -> String {
        self.flush();
        self.paras.join("\n\n")
    }
}

fn walk(el: ElementRef<'_>, skip: &[&str], pre: bool, depth: usize, w: &mut Writer) {
    let name = el.value().name();
    if depth > 256 {
        // Pathologically deep markup: flat text, no recursion (no stack overflow).
        for t in el.text() {
            w.text(t, pre);
        }
        return;
    }
    if DROP.contains(&name) || skip.contains(&name) {
        return;
    }
    if name == "br" {
        w.br();
        return;
    }
    let block = BLOCKS.contains(&name);
    if block {
        w.flush();
    }
    let pre = pre || name == "pre" || name == "textarea";
    for c in el.children() {
        match c.value() {
            Node::Text(t) => w.text(t, pre),
            Node::Element(_) => {
                if let Some(e) = ElementRef::wrap(c) {
                    walk(e, skip, pre, depth + 1, w);
                }
            }
            _ => {}
        }
    }
    if block {
        w.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scraper::{Html, Selector};

    fn text_of(html: &str) -> String {
        let doc = Html::parse_document(html);
        let sel = Selector::parse("#x").unwrap();
        element_text(doc.select(&sel).next().unwrap(), &[])
    }

    #[test]
    fn paragraphs_entities_scripts() {
        let t = text_of(
            "<div id=x><p>Hello   &amp; <b>world</b>\n now</p><script>evil()</script>\
             <style>p{}</style><p>Second&nbsp;para<br>line two</p>tail &#x41;&eacute;</div>",
        );
        assert_eq!(
            t,
            "Hello & world now\n\nSecond\u{a0}para\nline two\n\ntail Aé"
        );
    }

    #[test]
    fn inline_only_and_empty() {
        assert_eq!(text_of("<span id=x> a <i>b</i>  c </span>"), "a b c");
        assert_eq!(text_of("<div id=x><p></p>  <p> </p></div>"), "");
        let deep = format!(
            "<div id=x>{}deep{}</div>",
            "<span>".repeat(50_000),
            "</span>".repeat(50_000)
        );
        assert_eq!(text_of(&deep), "deep");
    }
}
