/** Output format chosen with `-o`. */
export type OutputFormat = 'table' | 'json';

/** A column of a human table: a header and how to read the cell from a row. */
export interface Column<Row> {
  header: string;
  value(row: Row): unknown;
}

function cell(value: unknown): string {
  if (value === undefined || value === null || value === '') return '-';
  if (Array.isArray(value)) return value.length === 0 ? '-' : value.map(cell).join(',');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** A left-aligned table with an upper-case header row, columns separated by two spaces (like kubectl). */
export function formatTable<Row>(rows: Row[], columns: Column<Row>[]): string {
  const cells = [
    columns.map((c) => c.header.toUpperCase()),
    ...rows.map((row) => columns.map((c) => cell(c.value(row)))),
  ];
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => (line[i] ?? '').length)));
  return (
    cells
      .map((line) =>
        line.map((text, i) => (i === line.length - 1 ? text : text.padEnd(widths[i] ?? 0))).join('  '),
      )
      .join('\n') + '\n'
  );
}

/** `key: value` lines for one object (nested objects as JSON). */
export function formatDetails(entries: [string, unknown][]): string {
  const width = Math.max(...entries.map(([key]) => key.length));
  return entries.map(([key, value]) => `${`${key}:`.padEnd(width + 2)}${cell(value)}`).join('\n') + '\n';
}

/** Pretty JSON with a trailing newline. */
export function formatJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
