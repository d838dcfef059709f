// The message formatting parser (web/js/markdown.js), without a browser: `node --test web/tests/`.
// `show()` writes a tree in a compact notation so that each case reads as input → what shows:
// <b> bold, <i> italic, <s> strike, <sp> spoiler, `code`, <a href>text</a>, @mention, <p> paragraph,
// <pre lang>, <q> quote, <ul>/<ol start> with <li>.

import { test } from "node:test";
import assert from "node:assert/strict";
import { parse, plainText } from "../js/markdown.js";

const INLINE = { bold: "b", italic: "i", strike: "s", spoiler: "sp" };

function show(text) {
  return parse(text).children.map(block).join("");
}

function block(node) {
  switch (node.type) {
    case "paragraph": return `<p>${inlines(node.children)}</p>`;
    case "codeblock": return `<pre${node.lang ? ` ${node.lang}` : ""}>${node.text}</pre>`;
    case "quote": return `<q>${node.children.map(block).join("")}</q>`;
    case "list": return `<${node.ordered ? "ol" : "ul"}${node.ordered && node.start !== 1 ? ` ${node.start}` : ""}>${node.children.map((item) => `<li>${item.children.map(block).join("")}</li>`).join("")}</${node.ordered ? "ol" : "ul"}>`;
    default: throw new Error(`unexpected block ${node.type}`);
  }
}

function inlines(list) {
  return list.map((node) => {
    if (INLINE[node.type]) return `<${INLINE[node.type]}>${inlines(node.children)}</${INLINE[node.type]}>`;
    if (node.type === "text") return node.text;
    if (node.type === "code") return `\`${node.text}\``;
    if (node.type === "link") return `<a ${node.href}>${node.text}</a>`;
    if (node.type === "mention") return `{${node.username}}`;
    throw new Error(`unexpected inline ${node.type}`);
  }).join("");
}

/** Every node of a tree, depth first. */
function* nodes(node) {
  yield node;
  for (const child of node.children || []) yield* nodes(child);
}

const ALLOWED = new Set(["root", "paragraph", "codeblock", "quote", "list", "item", "text", "code", "link", "mention", "bold", "italic", "strike", "spoiler"]);

/** The safety invariants: only known node types, string texts, links to http(s)/mailto only. */
function assertSafe(text) {
  for (const node of nodes(parse(text))) {
    assert.ok(ALLOWED.has(node.type), `unknown node type ${node.type} for ${JSON.stringify(text)}`);
    if ("text" in node) assert.equal(typeof node.text, "string");
    if (node.type === "link") {
      assert.match(node.href, /^(https?:\/\/|mailto:)/, `unsafe href ${node.href}`);
      assert.equal(Object.keys(node).sort().join(), "href,text,type", "a link is an href and a text, nothing else");
    }
  }
}

const p = (s) => `<p>${s}</p>`;

test("plain text is one paragraph of text, kept exactly", () => {
  assert.equal(show("hello world"), p("hello world"));
  assert.equal(show(""), "");
  assert.equal(show("   "), "");
  assert.equal(show("two\nlines"), p("two\nlines"), "line breaks stay inside a paragraph");
  assert.equal(show("one\n\ntwo"), p("one") + p("two"), "a blank line starts a new paragraph");
  assert.equal(show("  indented stays"), p("  indented stays"), "no indented code blocks");
});

test("bold, italic, strike, inline code and spoilers", () => {
  assert.equal(show("**bold**"), p("<b>bold</b>"));
  assert.equal(show("__bold__"), p("<b>bold</b>"));
  assert.equal(show("*italic*"), p("<i>italic</i>"));
  assert.equal(show("_italic_"), p("<i>italic</i>"));
  assert.equal(show("~~gone~~"), p("<s>gone</s>"));
  assert.equal(show("`code`"), p("`code`"));
  assert.equal(show("||secret||"), p("<sp>secret</sp>"));
  assert.equal(show("a **b** c *d* e"), p("a <b>b</b> c <i>d</i> e"));
  assert.equal(show("***both***"), p("<i><b>both</b></i>"));
  assert.equal(show("**bold**, then more"), p("<b>bold</b>, then more"), "punctuation after a closer");
  assert.equal(show("(*aside*)"), p("(<i>aside</i>)"));
});

test("nesting: bold in italic, italic in bold, everything in a spoiler", () => {
  assert.equal(show("*italic **bold** italic*"), p("<i>italic <b>bold</b> italic</i>"));
  assert.equal(show("**bold *italic* bold**"), p("<b>bold <i>italic</i> bold</b>"));
  assert.equal(show("||**a** ~~b~~ `c`||"), p("<sp><b>a</b> <s>b</s> `c`</sp>"));
  assert.equal(show("~~*a*~~"), p("<s><i>a</i></s>"));
});

test("code keeps its content literal", () => {
  assert.equal(show("**`*not italic*`**"), p("<b>`*not italic*`</b>"), "code inside bold stays literal");
  assert.equal(show("`<b>x</b>`"), p("`<b>x</b>`"));
  assert.equal(show("``a ` b``"), p("`a ` b`"), "a longer fence holds a shorter one");
  assert.equal(show("`` `tick` ``"), p("``tick``"), "one space each side is padding");
  assert.equal(show("`a\\`"), p("`a\\`"), "no escapes inside code");
  assert.equal(show("`https://x.example/*a*`"), p("`https://x.example/*a*`"), "no links inside code");
  assert.equal(show("`@alice`"), p("`@alice`"), "no mentions inside code");
});

test("fenced code blocks keep whitespace, take a language and hold markup as text", () => {
  assert.equal(show("```\n  two spaces\n\ttab\n\n**not bold**\n```"), "<pre>  two spaces\n\ttab\n\n**not bold**</pre>");
  assert.equal(show("```rust\nfn main() {}\n```"), "<pre rust>fn main() {}</pre>");
  assert.equal(show("~~~\ncode\n~~~"), "<pre>code</pre>");
  assert.equal(show("before\n```\nx\n```\nafter"), p("before") + "<pre>x</pre>" + p("after"));
  assert.equal(show("````\n```\n````"), "<pre>```</pre>", "a shorter fence inside stays text");
  assert.equal(show("```\n```"), "<pre></pre>");
  assert.equal(show("```<script>\nx\n```"), "<pre>x</pre>", "a language that is not a word is dropped");
  assert.equal(show("> ```\n> quoted *code*\n> ```"), "<q><pre>quoted *code*</pre></q>");
});

test("unclosed markers stay literal", () => {
  assert.equal(show("**not closed"), p("**not closed"));
  assert.equal(show("*a"), p("*a"));
  assert.equal(show("a*"), p("a*"));
  assert.equal(show("`open"), p("`open"));
  assert.equal(show("||open"), p("||open"));
  assert.equal(show("~~open"), p("~~open"));
  assert.equal(show("[open"), p("[open"));
  assert.equal(show("[text](https://x.example"), p("[text](<a https://x.example/>https://x.example</a>"), "no link, but the bare URL still is one");
  assert.equal(show("```\nnever closed"), p("```\nnever closed"), "an unclosed fence is text");
  assert.equal(show("**a*"), p("*<i>a</i>"), "the unmatched marker stays");
  assert.equal(show("* not a list marker without text"), "<ul><li>" + p("not a list marker without text") + "</li></ul>");
});

test("markers inside words, alone or around spaces are text", () => {
  assert.equal(show("2*3*4"), p("2*3*4"));
  assert.equal(show("snake_case_name"), p("snake_case_name"));
  assert.equal(show("a * b * c"), p("a * b * c"));
  assert.equal(show("** not bold **"), p("** not bold **"));
  assert.equal(show("~5 minutes"), p("~5 minutes"), "a single tilde is not strike");
  assert.equal(show("a | b || c"), p("a | b || c"));
  assert.equal(show("~~~not strike~~~"), p("~~~not strike~~~"));
  assert.equal(show("|||x|||"), p("|||x|||"));
  assert.equal(show("file_name_v2.txt and *x*"), p("file_name_v2.txt and <i>x</i>"));
});

test("backslash escapes make markup characters literal", () => {
  assert.equal(show("\\*not italic\\*"), p("*not italic*"));
  assert.equal(show("\\**bold?**"), p("*<i>bold?</i>*"));
  assert.equal(show("\\`x\\`"), p("`x`"));
  assert.equal(show("\\[x\\](https://a.example)"), p("[x](<a https://a.example/>https://a.example</a>)"));
  assert.equal(show("\\||x\\||"), p("||x||"));
  assert.equal(show("a\\b \\\\"), p("a\\b \\"), "a backslash before a letter stays, before a backslash escapes it");
  assert.equal(show("\\> not a quote"), p("> not a quote"));
  assert.equal(show("\\- not a list"), p("- not a list"));
  assert.equal(show("1\\. not a list"), p("1. not a list"));
  assert.equal(show("\\@alice"), p("@alice"));
});

test("quotes, nested quotes, and what ends them", () => {
  assert.equal(show("> quoted"), "<q>" + p("quoted") + "</q>");
  assert.equal(show(">no space"), "<q>" + p("no space") + "</q>");
  assert.equal(show("> a\n> b\nafter"), "<q>" + p("a\nb") + "</q>" + p("after"));
  assert.equal(show("> a\n> > b"), "<q>" + p("a") + "<q>" + p("b") + "</q></q>");
  assert.equal(show("> **bold** in a quote"), "<q>" + p("<b>bold</b> in a quote") + "</q>");
  assert.equal(show("> - item"), "<q><ul><li>" + p("item") + "</li></ul></q>");
  assert.equal(show("a > b"), p("a > b"));
});

test("quotes nested 100 deep stop nesting at six and keep the rest as text", () => {
  const tree = parse(`${"> ".repeat(100)}deep`);
  let depth = 0;
  let node = tree.children[0];
  while (node?.type === "quote") { depth++; node = node.children[0]; }
  assert.equal(depth, 6);
  assert.equal(node.type, "paragraph");
  assert.equal(node.children[0].text, `${"> ".repeat(94)}deep`.trimEnd());
  assert.equal(plainText(`${"> ".repeat(100)}deep`), `${"> ".repeat(94)}deep`);
});

test("lists: bullets, numbers, nesting and a start number", () => {
  const li = (s) => `<li>${p(s)}</li>`;
  assert.equal(show("- a\n- b"), `<ul>${li("a")}${li("b")}</ul>`);
  assert.equal(show("* a\n+ b"), `<ul>${li("a")}${li("b")}</ul>`);
  assert.equal(show("1. a\n2. b"), `<ol>${li("a")}${li("b")}</ol>`);
  assert.equal(show("3) c\n4) d"), `<ol 3>${li("c")}${li("d")}</ol>`);
  assert.equal(show("I need:\n- milk\n- eggs"), p("I need:") + `<ul>${li("milk")}${li("eggs")}</ul>`, "a list may follow a line of text");
  assert.equal(show("- a\n  - b\n- c"), `<ul><li>${p("a")}<ul>${li("b")}</ul></li>${li("c")}</ul>`);
  assert.equal(show("- a\n  more of a"), `<ul>${li("a\nmore of a")}</ul>`);
  assert.equal(show("- a\nnot in the list"), `<ul>${li("a")}</ul>` + p("not in the list"));
  assert.equal(show("- a\n1. b"), `<ul>${li("a")}</ul><ol>${li("b")}</ol>`, "a change of kind starts a new list");
  assert.equal(show("- **bold** item"), `<ul>${li("<b>bold</b> item")}</ul>`);
  assert.equal(show("-not a list"), p("-not a list"));
  assert.equal(show("1.5 is not a list"), p("1.5 is not a list"));
  assert.equal(show("- - - -"), "<ul><li><ul><li><ul><li>" + p("-") + "</li></ul></li></ul></li></ul>");
});

test("no headings, rules or tables in a chat: they stay text", () => {
  assert.equal(show("# not a heading"), p("# not a heading"));
  assert.equal(show("## neither"), p("## neither"));
  assert.equal(show("---"), p("---"));
  assert.equal(show("| a | b |\n|---|---|"), p("| a | b |\n|---|---|"));
});

test("bare links: http and https, balanced parentheses kept, the sentence's punctuation dropped", () => {
  assert.equal(show("go to https://game.example/pong now"), p("go to <a https://game.example/pong>https://game.example/pong</a> now"));
  assert.equal(show("(see https://example.com/a_(b)) and https://en.wikipedia.org/wiki/Foo_(bar). Or (https://example.org/x)."),
    p("(see <a https://example.com/a_(b)>https://example.com/a_(b)</a>) and <a https://en.wikipedia.org/wiki/Foo_(bar)>https://en.wikipedia.org/wiki/Foo_(bar)</a>. Or (<a https://example.org/x>https://example.org/x</a>)."));
  assert.equal(show("HTTP://EXAMPLE.COM/X"), p("<a http://example.com/X>HTTP://EXAMPLE.COM/X</a>"), "the text stays as typed, the href normalised");
  assert.equal(show("**https://x.example/a**"), p("<b><a https://x.example/a>https://x.example/a</a></b>"));
  assert.equal(show("||https://x.example||"), p("<sp><a https://x.example/>https://x.example</a></sp>"));
  assert.equal(show("https://x.example/snake_case_path"), p("<a https://x.example/snake_case_path>https://x.example/snake_case_path</a>"), "no emphasis inside a URL");
  assert.equal(show("xhttps://x.example"), p("xhttps://x.example"), "only at the start of a word");
  assert.equal(show("https://"), p("https://"), "not a URL after all");
  assert.equal(show("ftp://x.example"), p("ftp://x.example"));
  assert.equal(show("said 'https://x.example'"), p("said '<a https://x.example/>https://x.example</a>'"));
});

test("[text](url) and <url> links: http, https and mailto, the text is text", () => {
  assert.equal(show("[the docs](https://docs.example/a)"), p("<a https://docs.example/a>the docs</a>"));
  assert.equal(show("[mail me](mailto:bob@example.com)"), p("<a mailto:bob@example.com>mail me</a>"));
  assert.equal(show("[**bold** label](https://x.example)"), p("<a https://x.example/>bold label</a>"), "no formatting inside a label");
  assert.equal(show("[`code`](https://x.example)"), p("<a https://x.example/>code</a>"));
  assert.equal(show("[see https://a.example](https://b.example)"), p("<a https://b.example/>see https://a.example</a>"));
  assert.equal(show("[](https://x.example)"), p("<a https://x.example/>https://x.example</a>"), "an empty label shows the URL");
  assert.equal(show("[a [b](https://x.example) c](https://y.example)"), p("[a <a https://x.example/>b</a> c](<a https://y.example/>https://y.example</a>)"), "no links in links");
  assert.equal(show("[wiki](https://en.wikipedia.org/wiki/Foo_(bar))"), p("<a https://en.wikipedia.org/wiki/Foo_(bar)>wiki</a>"));
  assert.equal(show("[x]( https://x.example )"), p("<a https://x.example/>x</a>"));
  assert.equal(show("[x] (https://x.example)"), p("[x] (<a https://x.example/>https://x.example</a>)"), "a space between is no link");
  assert.equal(show("<https://x.example/a b>"), p("<<a https://x.example/a>https://x.example/a</a> b>"));
  assert.equal(show("<https://x.example/a>"), p("<a https://x.example/a>https://x.example/a</a>"));
  assert.equal(show("<mailto:a@b.example>"), p("<a mailto:a@b.example>mailto:a@b.example</a>"));
  assert.equal(show("*[a](https://x.example)*"), p("<i><a https://x.example/>a</a></i>"));
  assert.equal(show("[a*](https://x.example)*"), p("<a https://x.example/>a*</a>*"), "emphasis cannot cross into a link");
});

test("hostile links become text, never links", () => {
  const cases = [
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x]( javascript:alert(1) )",
    "[x](data:text/html,<script>alert(1)</script>)",
    "[x](vbscript:msgbox)",
    "[x](file:///etc/passwd)",
    "[x](//evil.example/x)",
    "[x](/relative)",
    "[x](#fragment)",
    "<javascript:alert(1)>",
    "<data:text/html;base64,PHNjcmlwdD4=>",
    "[x](mailto:)",
    "[x](mailto:not-an-address)",
    "javascript:alert(1)",
    "[x](java\nscript:alert(1))",
    "[x](\\javascript:alert(1))",
  ];
  for (const text of cases) {
    assertSafe(text);
    const links = [...nodes(parse(text))].filter((n) => n.type === "link");
    assert.deepEqual(links, [], `${JSON.stringify(text)} makes no link`);
    assert.equal(plainText(text), text, `${JSON.stringify(text)} keeps its text`);
  }
  assert.equal(show("[x](javascript:alert(1))"), p("[x](javascript:alert(1))"));
});

test("HTML is text: tags, entities and comments come out as typed", () => {
  const hostile = [
    "<script>alert(1)</script>",
    "<img src=1 onerror='alert(1)'><script>alert(2)</script>",
    "<b>not bold</b>",
    "&lt;b&gt; &amp; &#60;",
    "<!-- comment -->",
    "<a href=\"javascript:alert(1)\">x</a>",
    "<svg/onload=alert(1)>",
    "**<script>alert(1)</script>**",
    "[<img src=x onerror=alert(1)>](https://x.example)",
    "`<script>`",
    "```html\n<script>alert(1)</script>\n```",
  ];
  for (const text of hostile) {
    assertSafe(text);
    assert.ok(plainText(text).includes("<") || plainText(text).includes("&"), `${JSON.stringify(text)} keeps its markup as text`);
  }
  assert.equal(show("<b>not bold</b>"), p("<b>not bold</b>"));
  assert.equal(show("&lt;b&gt;"), p("&lt;b&gt;"), "entities are not decoded");
  assert.equal(show("**<script>alert(1)</script>**"), p("<b><script>alert(1)</script></b>"));
});

test("mentions: the server's rule, kept whole, lowercased", () => {
  assert.equal(show("hi @Alice and @bob_2, see @alice."), p("hi {alice} and {bob_2}, see {alice}."));
  assert.equal(show("mail me: x@example.com"), p("mail me: x@example.com"), "an address mentions nobody");
  assert.equal(show("@ab is too short, @ alone"), p("@ab is too short, @ alone"));
  assert.equal(show("(@carol)"), p("({carol})"));
  assert.equal(show("**@dave**"), p("<b>{dave}</b>"));
  assert.equal(show("@snake_case_name"), p("{snake_case_name}"), "underscores in a name are not emphasis");
  assert.equal(show(`@${"a".repeat(33)}`), p(`@${"a".repeat(33)}`), "longer than a username can be");
  const mention = parse("@Alice").children[0].children[0];
  assert.deepEqual(mention, { type: "mention", username: "alice", text: "@Alice" }, "the text as typed, the name folded");
});

test("CRLF and CR line endings read like LF", () => {
  assert.equal(show("a\r\nb\r\n\r\nc"), p("a\nb") + p("c"));
  assert.equal(show("```\r\ncode\r\n```"), "<pre>code</pre>");
  assert.equal(show("- a\r- b"), "<ul><li>" + p("a") + "</li><li>" + p("b") + "</li></ul>");
});

test("emoji and right-to-left text are untouched, and can be formatted", () => {
  assert.equal(show("**שלום** עולם"), p("<b>שלום</b> עולם"));
  assert.equal(show("*مرحبا*"), p("<i>مرحبا</i>"));
  assert.equal(show("👍**ok**👍"), p("👍<b>ok</b>👍"), "emoji count as punctuation next to a marker");
  assert.equal(show("**👨‍👩‍👧‍👦**"), p("<b>👨‍👩‍👧‍👦</b>"));
  assert.equal(show("a\u202Eb *c*"), p("a\u202Eb <i>c</i>"));
  assert.equal(show("日本語*強調*です"), p("日本語*強調*です"), "inside a word (no spaces in Japanese) stays literal");
});

test("non-string input is tolerated", () => {
  assert.deepEqual(parse(undefined), { type: "root", children: [] });
  assert.deepEqual(parse(null), { type: "root", children: [] });
  assert.equal(plainText(42), "42");
});

test("plainText drops the markup and hides spoilers", () => {
  assert.equal(plainText("**bold** *it* ~~s~~ `code`"), "bold it s code");
  assert.equal(plainText("the ending: ||he was a ghost||"), "the ending: [spoiler]");
  assert.equal(plainText("[the docs](https://docs.example) and https://x.example"), "the docs and https://x.example");
  assert.equal(plainText("> quoted\nreply"), "quoted\nreply");
  assert.equal(plainText("- a\n- b"), "• a\n• b");
  assert.equal(plainText("3. c\n4. d"), "3. c\n4. d");
  assert.equal(plainText("```\nx = 1\n```"), "x = 1");
  assert.equal(plainText("hi @alice"), "hi @alice");
  assert.equal(plainText("\\*literal\\*"), "*literal*");
});

test("deep emphasis is flattened past twelve levels, its text kept", () => {
  const text = `${"*a _a ".repeat(25)}x${" a_ a*".repeat(25)}`;
  let depth = 0;
  for (let node = parse(text).children[0].children[0]; node && node.children; node = node.children[0]) depth++;
  assert.ok(depth <= 12, `nested ${depth} deep`);
  assert.equal(plainText(text), text.replace(/[*_]/g, ""));
});

test("hostile sizes parse in linear-ish time (under 50 ms each)", () => {
  const inputs = {
    "4000 *": "*".repeat(4000),
    "4000 [": "[".repeat(4000),
    "4000 ]": "]".repeat(4000),
    "[]( x1333": "[](".repeat(1333),
    "[a]( x1000": "[a](".repeat(1000),
    "*a x2000": "*a".repeat(2000),
    "a* x2000": "a* ".repeat(1333),
    "**a x1333": "**a".repeat(1333),
    "_ words": "_a _b ".repeat(666),
    "4000 `": "`".repeat(4000),
    "` runs of growing length": Array.from({ length: 85 }, (_, k) => "`".repeat(k + 1)).join("x"),
    "4000 |": "|".repeat(4000),
    "|| x2000": "||a ".repeat(1000),
    "~~ x2000": "~~a ".repeat(1000),
    "4000 \\": "\\".repeat(4000),
    "4000 <": "<".repeat(4000),
    "<https:// x500": "<https://".repeat(444),
    "4000 @": "@".repeat(4000),
    "https:// x500": "https://".repeat(500),
    "URL with 3990 )": `https://x/${")".repeat(3990)}`,
    "URL with 3990 (": `https://x/${"(".repeat(3990)}`,
    "4000 >": ">".repeat(4000),
    "> x2000": "> ".repeat(2000),
    "- x2000": "- ".repeat(2000),
    "2000 lines of -": "- a\n".repeat(1000),
    "2000 lines of >": "> a\n".repeat(1000),
    "unclosed fences": "```a\n".repeat(800),
    "fences of falling length": Array.from({ length: 60 }, (_, k) => "`".repeat(63 - k) + "x").join("\n"),
    "nested indentation": Array.from({ length: 160 }, (_, k) => `${" ".repeat(k % 20)}- a`).join("\n"),
    "mixed": "**_~~||`[<@h".repeat(333),
    "*_ nesting": `${"*_".repeat(1000)}x${"_*".repeat(1000)}`,
  };
  for (const [name, text] of Object.entries(inputs)) {
    assert.ok(text.length <= 4100, `${name} is a message the server accepts`);
    // The best of three runs: a garbage collection in the middle of one says nothing of the parser.
    let took = Infinity;
    for (let run = 0; run < 3; run++) {
      const started = performance.now();
      parse(text);
      plainText(text);
      took = Math.min(took, performance.now() - started);
    }
    assert.ok(took < 50, `${name}: ${took.toFixed(1)} ms`);
    assertSafe(text);
  }
});

test("a long ordinary message keeps every character", () => {
  const words = "some *words* and **more** with `code`, links https://x.example/a and @people.";
  const text = Array.from({ length: 50 }, () => words).join("\n");
  assert.equal(plainText(text), text.replace(/\*\*|\*|`/g, ""));
});
