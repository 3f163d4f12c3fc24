/**
 * Finds the first object key that appears twice in one object of a JSON text, or null. JSON.parse
 * silently keeps the last value of a repeated key, so `{"role":"user","role":"admin"}` could slip a
 * value past a reviewer or a proxy that reads the first one; we refuse such bodies instead.
 *
 * Call it only on text JSON.parse accepted: the scanner then needs no error handling of its own.
 * Keys are compared after unescaping ("a" and "\u0061" are the same key).
 */
export function findDuplicateKey(text: string): string | null {
  // one entry per open container: a Set of the keys seen for an object, null for an array
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{') {
      stack.push(new Set());
      expectKey = true;
    } else if (c === '[') {
      stack.push(null);
      expectKey = false;
    } else if (c === '}' || c === ']') {
      stack.pop();
      expectKey = false;
    } else if (c === ',') {
      expectKey = stack.at(-1) instanceof Set;
    } else if (c === ':') {
      expectKey = false;
    } else if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        const seen = stack.at(-1)!;
        if (seen.has(key)) return key;
        seen.add(key);
        expectKey = false;
      }
      i = j;
    }
  }
  return null;
}
