/**
 * Our own predefined security questions (Azure ships 35 of its own; these are written for Postern).
 * Ids are stable: registered answers refer to them, so a question is never renumbered or reworded
 * in a way that changes its meaning — retire it instead. Custom questions come from the tenant's
 * SSPR policy and are not localised (Azure shows them as typed).
 */

export type QuestionLocale = 'en' | 'de';

interface CatalogEntry {
  readonly id: string;
  readonly en: string;
  readonly de: string;
}

export const SECURITY_QUESTIONS: readonly CatalogEntry[] = [
  { id: 'q-first-school', en: 'What was the name of your first school?', de: 'Wie hieß Ihre erste Schule?' },
  { id: 'q-first-pet', en: 'What was the name of your first pet?', de: 'Wie hieß Ihr erstes Haustier?' },
  { id: 'q-childhood-street', en: 'On which street did you live as a child?', de: 'In welcher Straße haben Sie als Kind gewohnt?' },
  { id: 'q-childhood-friend', en: 'What was the first name of your best friend in childhood?', de: 'Wie lautet der Vorname Ihres besten Freundes aus der Kindheit?' },
  { id: 'q-first-teacher', en: 'What was the surname of your first teacher?', de: 'Wie lautet der Nachname Ihrer ersten Lehrkraft?' },
  { id: 'q-first-job-city', en: 'In which city did you have your first job?', de: 'In welcher Stadt hatten Sie Ihre erste Arbeitsstelle?' },
  { id: 'q-first-employer', en: 'What was the name of your first employer?', de: 'Wie hieß Ihr erster Arbeitgeber?' },
  { id: 'q-first-car', en: 'What was the make and model of your first car?', de: 'Welche Marke und welches Modell hatte Ihr erstes Auto?' },
  { id: 'q-first-concert', en: 'What was the first concert you went to?', de: 'Welches war das erste Konzert, das Sie besucht haben?' },
  { id: 'q-first-film-cinema', en: 'What was the first film you saw in a cinema?', de: 'Welchen Film haben Sie als ersten im Kino gesehen?' },
  { id: 'q-first-holiday', en: 'Where did you go on your first holiday without your parents?', de: 'Wohin ging Ihr erster Urlaub ohne Ihre Eltern?' },
  { id: 'q-first-stuffed-toy', en: 'What was the name of your favourite toy as a child?', de: 'Wie hieß Ihr Lieblingsspielzeug als Kind?' },
  { id: 'q-grandparents-town', en: 'In which town did your grandparents live?', de: 'In welchem Ort haben Ihre Großeltern gewohnt?' },
  { id: 'q-childhood-nickname', en: 'What was your childhood nickname?', de: 'Wie lautete Ihr Spitzname als Kind?' },
  { id: 'q-childhood-hero', en: 'Who was your childhood hero?', de: 'Wer war Ihr Held in der Kindheit?' },
  { id: 'q-childhood-dream-job', en: 'What did you want to be when you grew up?', de: 'Was wollten Sie als Kind werden?' },
  { id: 'q-favourite-book-child', en: 'What was your favourite book as a child?', de: 'Was war Ihr Lieblingsbuch als Kind?' },
  { id: 'q-favourite-subject', en: 'What was your favourite subject at school?', de: 'Was war Ihr Lieblingsfach in der Schule?' },
  { id: 'q-first-instrument', en: 'Which musical instrument did you learn first?', de: 'Welches Musikinstrument haben Sie zuerst gelernt?' },
  { id: 'q-first-flight-destination', en: 'Where did your first flight take you?', de: 'Wohin ging Ihr erster Flug?' },
  { id: 'q-wedding-venue-city', en: 'In which city did you meet your spouse or partner?', de: 'In welcher Stadt haben Sie Ihre Partnerin oder Ihren Partner kennengelernt?' },
  { id: 'q-first-phone-brand', en: 'What was the brand of your first mobile phone?', de: 'Von welcher Marke war Ihr erstes Mobiltelefon?' },
  { id: 'q-sibling-middle-name', en: 'What is the middle name of your oldest sibling?', de: 'Wie lautet der zweite Vorname Ihres ältesten Geschwisters?' },
  { id: 'q-first-sports-team', en: 'What was the name of the first sports team you played for?', de: 'Wie hieß die erste Sportmannschaft, in der Sie gespielt haben?' },
  { id: 'q-memorable-teacher-subject', en: 'Which teacher influenced you most, and what did they teach?', de: 'Welche Lehrkraft hat Sie am meisten geprägt, und was hat sie unterrichtet?' },
];

const byId = new Map(SECURITY_QUESTIONS.map((q) => [q.id, q]));

export function isCatalogQuestion(id: string): boolean {
  return byId.has(id);
}

export function questionLocaleOf(locale: string | null | undefined): QuestionLocale {
  return locale?.toLowerCase().startsWith('de') ? 'de' : 'en';
}

/** The question's text in the locale; undefined for an unknown id. */
export function catalogQuestionText(id: string, locale: QuestionLocale): string | undefined {
  return byId.get(id)?.[locale];
}

/** Every wording of a predefined question (checked against answers, which must not repeat it). */
export function catalogQuestionTexts(id: string): string[] {
  const q = byId.get(id);
  return q ? [q.en, q.de] : [];
}

export interface CatalogQuestion {
  questionId: string | null;
  customQuestion: string | null;
  text: string;
}

/**
 * What a user may choose from: the predefined questions the tenant selected (ids in the admin's
 * order; an id the catalogue lacks is skipped) in the user's language, then the tenant's custom ones.
 */
export function listAvailableQuestions(locale: QuestionLocale, predefined: readonly string[], custom: readonly string[]): CatalogQuestion[] {
  return [
    ...predefined.flatMap((id) => {
      const q = byId.get(id);
      return q ? [{ questionId: q.id, customQuestion: null, text: q[locale] }] : [];
    }),
    ...custom.map((c) => ({ questionId: null, customQuestion: c, text: c })),
  ];
}
