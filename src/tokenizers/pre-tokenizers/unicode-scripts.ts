import type { NormalizedString } from '../normalized-string.js';
import type { PreTokenizedString } from '../pre-tokenized-string.js';
import type { PreTokenizer } from './pre-tokenizer.js';

/**
 * Rust `UnicodeScripts`: split where the Unicode script changes. The Rust crate's script table predates
 * Unicode 10: scripts and emoji added since then count as "any" there, and so they do here (the scripts list stops
 * at Unicode 9, and the newer emoji ranges are listed below). Hiragana, Katakana and U+30FC count as Han, the
 * space counts as "any" (it joins the piece before it), as in the Rust crate. Scripts are looked up with
 * `\p{Script=...}` once per code point and memoised.
 */
const SCRIPTS = (
  'Common Latin Greek Cyrillic Armenian Hebrew Arabic Syriac Thaana Devanagari Bengali Gurmukhi Gujarati Oriya ' +
  'Tamil Telugu Kannada Malayalam Sinhala Thai Lao Tibetan Myanmar Georgian Hangul Ethiopic Cherokee ' +
  'Canadian_Aboriginal Ogham Runic Khmer Mongolian Hiragana Katakana Bopomofo Han Yi Old_Italic Gothic Deseret ' +
  'Inherited Tagalog Hanunoo Buhid Tagbanwa Limbu Tai_Le Linear_B Ugaritic Shavian Osmanya Cypriot Braille ' +
  'Buginese Coptic New_Tai_Lue Glagolitic Tifinagh Syloti_Nagri Old_Persian Kharoshthi Balinese Cuneiform ' +
  'Phoenician Phags_Pa Nko Sundanese Lepcha Ol_Chiki Vai Saurashtra Kayah_Li Rejang Lycian Carian Lydian Cham ' +
  'Tai_Tham Tai_Viet Avestan Egyptian_Hieroglyphs Samaritan Lisu Bamum Javanese Meetei_Mayek Imperial_Aramaic ' +
  'Old_South_Arabian Inscriptional_Parthian Inscriptional_Pahlavi Old_Turkic Kaithi Batak Brahmi Mandaic Chakma ' +
  'Meroitic_Cursive Meroitic_Hieroglyphs Miao Sharada Sora_Sompeng Takri Caucasian_Albanian Bassa_Vah Duployan ' +
  'Elbasan Grantha Pahawh_Hmong Khojki Linear_A Mahajani Manichaean Mende_Kikakui Modi Mro Old_North_Arabian ' +
  'Nabataean Palmyrene Pau_Cin_Hau Old_Permic Psalter_Pahlavi Siddham Khudawadi Tirhuta Warang_Citi Ahom ' +
  'Anatolian_Hieroglyphs Hatran Multani Old_Hungarian SignWriting Adlam Bhaiksuki Marchen Newa Osage Tangut'
).split(' ');

// Names this JavaScript engine does not know (older ICU) are skipped rather than failing at load.
const SCRIPT_REGEXES = SCRIPTS.map((name) => {
  try {
    return new RegExp(`^\\p{Script=${name}}$`, 'u');
  } catch {
    return /(?!)/u;
  }
});
const UNKNOWN = SCRIPTS.length + 1;
const ANY = 0;
const HAN = SCRIPTS.indexOf('Han') + 1;
const HIRAGANA = SCRIPTS.indexOf('Hiragana') + 1;
const KATAKANA = SCRIPTS.indexOf('Katakana') + 1;
const memo = new Uint8Array(0x110000);

/** Emoji and symbols assigned after Unicode 9, unknown to the Rust table (measured against the Rust core). */
function isNewerEmoji(cp: number): boolean {
  return (
    (cp >= 0x1f6d3 && cp <= 0x1f6d7) ||
    (cp >= 0x1f6f7 && cp <= 0x1f6fc) ||
    (cp >= 0x1f7e0 && cp <= 0x1f7eb) ||
    (cp >= 0x1f90c && cp <= 0x1f90f) ||
    cp === 0x1f91f ||
    (cp >= 0x1f928 && cp <= 0x1f92f) ||
    cp === 0x1f931 ||
    cp === 0x1f932 ||
    cp === 0x1f93f ||
    (cp >= 0x1f94c && cp <= 0x1f94f) ||
    (cp >= 0x1f95f && cp <= 0x1f97f) ||
    (cp >= 0x1f992 && cp <= 0x1f9bf) ||
    (cp >= 0x1f9c1 && cp <= 0x1f9ff) ||
    (cp >= 0x1fa00 && cp <= 0x1faff)
  );
}

function rawScript(cp: number): number {
  let s = memo[cp]!;
  if (s !== 0) return s;
  s = UNKNOWN;
  if (cp === 0x589) {
    // ARMENIAN FULL STOP was Common in the Unicode version of the Rust table.
    s = 1;
  } else if (!(cp >= 0xd800 && cp <= 0xdfff) && !isNewerEmoji(cp)) {
    const ch = String.fromCodePoint(cp);
    for (let i = 0; i < SCRIPT_REGEXES.length; i++) {
      if (SCRIPT_REGEXES[i]!.test(ch)) {
        s = i + 1;
        break;
      }
    }
  }
  memo[cp] = s;
  return s;
}

/** Script id of a code point with the Rust crate's fixes (0 = "any"). */
export function fixedScript(cp: number): number {
  if (cp === 0x30fc) return HAN;
  if (cp === 0x20) return ANY;
  const s = rawScript(cp);
  if (s === UNKNOWN) return ANY;
  return s === HIRAGANA || s === KATAKANA ? HAN : s;
}

export class UnicodeScriptsPreTokenizer implements PreTokenizer {
  readonly type = 'UnicodeScripts';

  preTokenize(pretokenized: PreTokenizedString): void {
    pretokenized.split((_, normalized) => splitByScript(normalized));
  }
}

function splitByScript(normalized: NormalizedString): NormalizedString[] {
  const text = normalized.get();
  const cuts: number[] = [];
  let last = -1; // -1 = none seen yet
  for (let i = 0; i < text.length;) {
    const cp = text.codePointAt(i)!;
    const script = fixedScript(cp);
    if (script !== ANY && last !== ANY && last !== script) cuts.push(i);
    if (script !== ANY) last = script;
    i += cp > 0xffff ? 2 : 1;
  }
  cuts.push(text.length);
  const out: NormalizedString[] = [];
  // Like Rust, text before the first cut (leading "any" characters) is not part of any piece.
  for (let k = 0; k + 1 < cuts.length; k++) {
    const piece = normalized.slice(cuts[k]!, cuts[k + 1]!);
    if (piece !== null) out.push(piece);
  }
  return out;
}
