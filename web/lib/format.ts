/** Dates in the user's time zone and locale (the API sends ISO 8601 UTC). */
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : dateTime.format(date);
}

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes == null) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.map((dim) => (dim < 0 ? '?' : String(dim))).join(', ')}]`;
}

/** A comma separated form field as its non-empty, trimmed items ("a, b,," is ["a", "b"]). */
export function commaList(value: FormDataEntryValue | null): string[] {
  return String(value)
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}
