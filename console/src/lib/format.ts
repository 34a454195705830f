const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/** 1536 → "1.5 KiB". Sizes arrive as decimal strings (ByteSize); Number is exact to 8 PiB. */
export function formatBytes(value: string | number | null | undefined): string {
  if (value === null || value === undefined || value === "") return "—";
  let n = Number(value);
  if (!Number.isFinite(n) || n < 0) return "—";
  let unit = 0;
  while (n >= 1024 && unit < UNITS.length - 1) {
    n /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${n.toFixed(n < 10 ? 2 : n < 100 ? 1 : 0)} ${UNITS[unit]}`;
}

export function formatRate(bytesPerSecond: number | null | undefined): string {
  return bytesPerSecond === null || bytesPerSecond === undefined ? "—" : `${formatBytes(Math.round(bytesPerSecond))}/s`;
}

/** 3725 → "1 h 02 min", 95 → "1 min 35 s". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
}

/** An ISO date-time as "2026-12-03 10:27" in the viewer's time zone. */
export function formatDate(value: string | null | undefined): string {
  if (!value) return "—";
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return value;
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function shortCommit(sha: string | null | undefined): string {
  return sha ? sha.slice(0, 12) : "—";
}
