import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILT_IN_ROLES } from '../../src/domain/roles.js';
import { errorCodes } from '../../src/errors.js';
import { REPO_ROOT } from '../helpers/spawn-server.js';

/**
 * The portals' strings (web/src/locales/<lang>/<namespace>.json): every error code the server can
 * answer with has an English and a German text, every SSPR support code the server sends has one,
 * English and German have the same keys in every namespace, and a German text is not just the
 * English one copied (unless it is a name or a code, listed below).
 */
const LOCALES = join(REPO_ROOT, 'web', 'src', 'locales');
const LANGS = ['en', 'de'] as const;

/** keys whose German text may equal the English one: names of languages and of the product */
const SAME_KEYS = new Set<string>(['common:languageName.en', 'common:languageName.de', 'common:poweredBy']);
/** texts that are the same in German: words German uses as they are, product names, units */
const SAME_TEXTS = new Set<string>(['Name', 'Details', 'Status', 'Version', 'Administrator', 'Admin', 'Cloud', 'Active Directory', 'OpenLDAP', 'Windows Server AD', '{{n}} ms', 'Postern']);

type Tree = { [k: string]: string | Tree };

function flatten(tree: Tree, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(tree)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'string') out.set(key, v);
    else for (const [kk, vv] of flatten(v, key)) out.set(kk, vv);
  }
  return out;
}

function load(lang: string, ns: string): Map<string, string> {
  return flatten(JSON.parse(readFileSync(join(LOCALES, lang, `${ns}.json`), 'utf8')) as Tree);
}

const namespaces = (lang: string) =>
  readdirSync(join(LOCALES, lang))
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5))
    .sort();

/** Every SSPR_00xx code written in the server's sources. */
function ssprCodesInSources(): string[] {
  const codes = new Set<string>();
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) for (const m of readFileSync(p, 'utf8').matchAll(/SSPR_00\d\d/g)) codes.add(m[0]);
    }
  };
  walk(join(REPO_ROOT, 'src'));
  return [...codes].sort();
}

describe('portal translations', () => {
  it('English and German have the same namespaces', () => {
    expect(namespaces('de')).toEqual(namespaces('en'));
    expect(namespaces('en')).toContain('errors');
  });

  for (const ns of namespaces('en')) {
    it(`${ns}: English and German have the same keys, and no empty text`, () => {
      const en = load('en', ns);
      const de = load('de', ns);
      expect([...de.keys()].sort()).toEqual([...en.keys()].sort());
      for (const lang of LANGS) for (const [k, v] of load(lang, ns)) expect({ key: `${lang}:${ns}:${k}`, empty: v.trim() === '' }).toEqual({ key: `${lang}:${ns}:${k}`, empty: false });
    });

    it(`${ns}: German texts are translated, not English copies`, () => {
      const en = load('en', ns);
      const copies = [...load('de', ns)]
        .filter(([k, v]) => en.get(k) === v && !SAME_KEYS.has(`${ns}:${k}`) && !SAME_TEXTS.has(v))
        // a text without letters (a placeholder, a number, a symbol) is the same in every language
        .filter(([, v]) => /\p{L}{2,}/u.test(v.replace(/\{\{[^}]*\}\}/g, '')))
        .map(([k]) => `${ns}:${k}`);
      expect(copies).toEqual([]);
    });
  }

  it('every error code of src/errors.ts has an English and a German text', () => {
    for (const lang of LANGS) {
      const errors = load(lang, 'errors');
      const missing = Object.keys(errorCodes).filter((code) => !errors.has(code));
      expect({ lang, missing }).toEqual({ lang, missing: [] });
    }
  });

  it('every SSPR support code the server sends, and the general texts, have an English and a German text', () => {
    const codes = ssprCodesInSources();
    expect(codes).toContain('SSPR_0030');
    for (const lang of LANGS) {
      const errors = load(lang, 'errors');
      const missing = [...codes, 'network', 'supportCode'].filter((k) => !errors.has(k));
      expect({ lang, missing }).toEqual({ lang, missing: [] });
      expect(errors.get('supportCode')).toContain('{{code}}');
    }
  });

  it('every password policy rule has an English and a German text', async () => {
    const source = readFileSync(join(REPO_ROOT, 'src', 'domain', 'password-policy.ts'), 'utf8');
    const union = /export type PasswordViolationCode =([^;]+);/.exec(source)?.[1] ?? '';
    const rules = [...union.matchAll(/'(\w+)'/g)].map((m) => m[1]!);
    expect(rules).toContain('bannedPassword');
    for (const lang of LANGS) {
      const errors = load(lang, 'errors');
      const missing = rules.filter((r) => !errors.has(`rule.${r}`));
      expect({ lang, missing }).toEqual({ lang, missing: [] });
    }
  });

  it('every built-in directory role has a name and a description in English and German, the English ones as the server names them', () => {
    expect(BUILT_IN_ROLES.length).toBeGreaterThan(10);
    for (const lang of LANGS) {
      const common = load(lang, 'common');
      const missing = BUILT_IN_ROLES.flatMap((r) => [`role.${r.id}.name`, `role.${r.id}.description`]).filter((k) => !common.has(k));
      expect({ lang, missing }).toEqual({ lang, missing: [] });
    }
    const en = load('en', 'common');
    for (const r of BUILT_IN_ROLES) expect([en.get(`role.${r.id}.name`), en.get(`role.${r.id}.description`)]).toEqual([r.displayName, r.description]);
  });
});
