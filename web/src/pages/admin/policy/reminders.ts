/** "14, 7, 3, 1" → [14, 7, 3, 1] (distinct, descending, as the server wants); null when a part is not a whole number. */
export function parseReminderDays(text: string): number[] | null {
  const parts = text.split(/[\s,;]+/).filter((p) => p !== '');
  if (!parts.every((p) => /^\d+$/.test(p))) return null;
  return [...new Set(parts.map(Number))].sort((a, b) => b - a);
}
