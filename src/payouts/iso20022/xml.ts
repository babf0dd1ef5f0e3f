/** XML text escaping for element content and attribute values (the five predefined entities). */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => {
    switch (char) {
      case '&':
        return '&amp;';
      case '<':
        return '&lt;';
      case '>':
        return '&gt;';
      case '"':
        return '&quot;';
      default:
        return '&apos;';
    }
  });
}

/**
 * Text fit for an ISO 20022 MaxNText element: control characters (not allowed in XML 1.0) become spaces, runs of
 * space collapse, and the result is cut at `max` characters (code points, as the schema counts them).
 */
export function isoText(text: string, max: number): string {
  const cleaned = text
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  const chars = [...cleaned];
  const cut = chars.length > max ? chars.slice(0, max).join('') : cleaned;
  return cut.length > 0 ? cut : '-';
}

/** `<Name>escaped text</Name>` */
export function el(name: string, text: string): string {
  return `<${name}>${escapeXml(text)}</${name}>`;
}
