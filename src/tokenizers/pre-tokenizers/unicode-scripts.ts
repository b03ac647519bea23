import type { NormalizedString } from '../normalized-string.js';
import type { PreTokenizedString } from '../pre-tokenized-string.js';
import type { PreTokenizer } from './pre-tokenizer.js';

/**
 * Rust `UnicodeScripts`: split where the Unicode script changes. Hiragana, Katakana and U+30FC count as Han, the
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
  'Meroitic_Cursive Meroitic_Hieroglyphs Miao Sharada Sora_Sompeng Takri'
).split(' ');

const SCRIPT_REGEXES = SCRIPTS.map((name) => new RegExp(`^\\p{Script=${name}}$`, 'u'));
const UNKNOWN = SCRIPTS.length + 1;
const ANY = 0;
const HAN = SCRIPTS.indexOf('Han') + 1;
const HIRAGANA = SCRIPTS.indexOf('Hiragana') + 1;
const KATAKANA = SCRIPTS.indexOf('Katakana') + 1;
const memo = new Uint8Array(0x110000);

function rawScript(cp: number): number {
  let s = memo[cp]!;
  if (s !== 0) return s;
  s = UNKNOWN;
  if (!(cp >= 0xd800 && cp <= 0xdfff)) {
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
