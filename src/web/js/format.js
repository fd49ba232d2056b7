// Sizes and times as people read them.
export function bytes(n) {
  if (n === undefined || n === null) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}

export function mib(n) {
  return n === undefined || n === null ? '' : bytes(n * 1024 * 1024);
}

export function time(seconds) {
  return seconds ? new Date(seconds * 1000).toLocaleString() : '';
}
