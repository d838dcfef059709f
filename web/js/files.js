// Words for files: sizes, kinds, and what a message of attachments says in a one-line preview.
// No DOM: the composer, the timeline, the sidebar and notifications share them.

/** "512 bytes", "1.2 KB", "34 MB" (powers of 1024, as file managers show them). */
export function fileSize(bytes) {
  if (!Number.isFinite(bytes) || bytes < 0) return "";
  if (bytes < 1024) return `${bytes} ${bytes === 1 ? "byte" : "bytes"}`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return `${value < 10 ? value.toFixed(1).replace(/\.0$/, "") : Math.round(value)} ${units[unit]}`;
}

/** The images Confab draws in the timeline: the ones the server measured (PNG, JPEG, GIF,
 * WebP); anything else, SVG included, is a file to download. */
export function isPicture(file) {
  return /^image\//.test(file?.mime || "") && file.width > 0 && file.height > 0;
}

const KINDS = [
  // [test on the type, test on the name, short label, words, tone]
  [/^application\/pdf$/, /\.pdf$/i, "PDF", "PDF document", "red"],
  [/^image\//, /\.(svg|png|jpe?g|gif|webp|bmp|heic|avif|tiff?)$/i, "IMG", "Image", "purple"],
  [/^video\//, /\.(mp4|mov|webm|mkv|avi)$/i, "VID", "Video", "purple"],
  [/^audio\//, /\.(mp3|wav|ogg|flac|m4a|opus)$/i, "AUD", "Audio", "teal"],
  [/zip|x-tar|gzip|x-7z|x-rar|x-bzip/, /\.(zip|tar|gz|tgz|7z|rar|bz2|xz)$/i, "ZIP", "Archive", "amber"],
  [/spreadsheet|excel|csv/, /\.(xlsx?|ods|csv|tsv)$/i, "XLS", "Spreadsheet", "green"],
  [/presentation|powerpoint/, /\.(pptx?|odp|key)$/i, "PPT", "Presentation", "amber"],
  [/wordprocessing|msword|opendocument\.text|rtf/, /\.(docx?|odt|rtf|pages)$/i, "DOC", "Document", "blue"],
  [/^text\/(html|javascript|css|x-)|json|xml/, /\.(html?|js|mjs|ts|css|json|xml|rs|py|go|c|h|cpp|java|sh|toml|ya?ml)$/i, "CODE", "Code", "slate"],
  [/^text\//, /\.(txt|md|log)$/i, "TXT", "Text", "slate"],
];

/** What a file is, for its icon: `{label, words, tone}`. The server's type wins; an unknown
 * type (application/octet-stream) falls back on the name's extension. */
export function fileKind(file) {
  const mime = file?.mime || "";
  const known = mime && mime !== "application/octet-stream";
  for (const [type, extension, label, words, tone] of KINDS) {
    if (known ? type.test(mime) : extension.test(file?.name || "")) return { label, words, tone };
  }
  return { label: "FILE", words: "File", tone: "slate" };
}

/** A message's files in a few words, where its body is empty: "📎 report.pdf", "🖼 3 images",
 * "📎 2 files". */
export function attachmentSummary(attachments = []) {
  if (!attachments.length) return "";
  const pictures = attachments.filter(isPicture).length;
  if (attachments.length === 1) return `${pictures ? "🖼" : "📎"} ${attachments[0].name}`;
  if (pictures === attachments.length) return `🖼 ${pictures} images`;
  return `📎 ${attachments.length} files`;
}
