// The --timestamp formats ostree accepts through gnulib's parse_datetime that scripts actually use:
// `@EPOCH`, ISO 8601 dates and date-times (`2020-01-02T03:04:05Z`, `…+02:00`), the `date`-style
// `2020-01-02 03:04:05` (local time, as parse_datetime reads it, unless a zone is given), and the
// words now/today/yesterday/tomorrow.
import { UsageError } from "./common.js";

const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?\s*(Z|UTC|[+-]\d{2}(?::?\d{2})?)?$/i;

/** Seconds since the epoch. */
export function parseTimestamp(text: string, now = new Date()): number {
  const s = text.trim();
  if (/^@-?\d+(\.\d+)?$/.test(s)) return Math.floor(Number(s.slice(1)));
  const day = (offset: number) => {
    const d = new Date(now.getFullYear(), now.getMonth(), now.getDate() + offset);
    return Math.floor(d.getTime() / 1000);
  };
  switch (s.toLowerCase()) {
    case "now":
      return Math.floor(now.getTime() / 1000);
    case "today":
      return day(0);
    case "yesterday":
      return Math.floor(now.getTime() / 1000) - 86400;
    case "tomorrow":
      return Math.floor(now.getTime() / 1000) + 86400;
  }
  const m = DATE_TIME.exec(s);
  if (m) {
    const [y, mo, d, h, mi, se] = m.slice(1, 7).map((x) => Number(x ?? 0)) as number[];
    const zone = m[7];
    let ms: number;
    if (!zone) ms = new Date(y!, mo! - 1, d!, h!, mi!, se!).getTime();
    else {
      ms = Date.UTC(y!, mo! - 1, d!, h!, mi!, se!);
      if (!/^(z|utc)$/i.test(zone)) {
        const sign = zone[0] === "-" ? -1 : 1;
        const digits = zone.slice(1).replace(":", "");
        ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || 0)) * 60_000;
      }
    }
    if (!Number.isNaN(ms)) return Math.floor(ms / 1000);
  }
  throw new UsageError(`Could not parse '${text}'`);
}
