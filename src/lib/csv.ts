import { Readable } from 'node:stream';

/**
 * RFC 4180 CSV: fields joined by commas, records ended by CRLF, a field quoted (quotes doubled) when it
 * holds a comma, quote, CR or LF. Against spreadsheet formula injection (OWASP "CSV injection") a text
 * field that starts with = + - @ TAB or CR gets a leading apostrophe, so Excel, LibreOffice and Sheets
 * show it as text instead of evaluating it; the apostrophe is part of the value a parser reads back.
 * Numbers are written as they are (a negative number is data, not a formula).
 */
export const UTF8_BOM = '\uFEFF';

export type CsvValue = string | number | boolean | null | undefined;

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

export function csvField(value: CsvValue): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvRecord(values: readonly CsvValue[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}

/**
 * A byte stream of a CSV document: the header, then each batch of rows as it arrives. Only one batch is
 * held at a time and the source is pulled only as fast as the reader drains (Readable.from honours
 * back-pressure), so memory stays flat however many rows there are.
 */
export function csvStream<R>(header: readonly string[], batches: AsyncIterable<readonly R[]>, toRecord: (row: R) => readonly CsvValue[], opts: { bom?: boolean } = {}): Readable {
  async function* lines(): AsyncGenerator<string> {
    yield `${opts.bom ? UTF8_BOM : ''}${csvRecord(header)}`;
    for await (const batch of batches) {
      if (batch.length > 0) yield batch.map((row) => csvRecord(toRecord(row))).join('');
    }
  }
  return Readable.from(lines(), { objectMode: false });
}

/** Parses RFC 4180 text (for tests and tools): records of fields, quotes undone, a final CRLF optional. */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i++;
    } else field += c;
  }
  if (field !== '' || record.length > 0) {
    record.push(field);
    records.push(record);
  }
  return records;
}
