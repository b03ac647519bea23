import { ConfigError } from '../../errors.js';

/**
 * Translates an Oniguruma pattern (what the Rust `tokenizers` crate compiles for `Regex` patterns) into an
 * equivalent JavaScript `u`-flag RegExp. Unicode classes are spelled out (`\s` is White_Space, `\w` is Unicode
 * word characters, `\d` is Nd), `(?i:...)` groups are expanded over ASCII letters, and constructs JavaScript
 * cannot express faithfully (possessive quantifiers, atomic groups, other inline flags) are a ConfigError naming
 * the pattern and the field.
 */
// Oniguruma's Unicode \w: Alphabetic, marks, decimal digits, connector punctuation (not Join_Control), plus the
// Latin-1 superscripts and fractions its single-byte ctype table marks as word characters.
const WORD = '\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\u00b2\\u00b3\\u00b9\\u00bc-\\u00be';
// Inside a bracket class Oniguruma uses the Unicode property alone (measured against the Rust core).
const WORD_IN_CLASS = '\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}';

const GENERAL_CATEGORIES = new Set(
  (
    'L Letter Lu Uppercase_Letter Ll Lowercase_Letter Lt Titlecase_Letter LC Cased_Letter Lm Modifier_Letter ' +
    'Lo Other_Letter M Mark Combining_Mark Mn Nonspacing_Mark Mc Spacing_Mark Me Enclosing_Mark N Number ' +
    'Nd Decimal_Number digit Nl Letter_Number No Other_Number P Punctuation punct Pc Connector_Punctuation ' +
    'Pd Dash_Punctuation Ps Open_Punctuation Pe Close_Punctuation Pi Initial_Punctuation Pf Final_Punctuation ' +
    'Po Other_Punctuation S Symbol Sm Math_Symbol Sc Currency_Symbol Sk Modifier_Symbol So Other_Symbol ' +
    'Z Separator Zs Space_Separator Zl Line_Separator Zp Paragraph_Separator C Other Cc Control cntrl ' +
    'Cf Format Cs Surrogate Co Private_Use Cn Unassigned'
  ).split(' '),
);

const BINARY_PROPERTIES = new Set([
  'Alphabetic',
  'White_Space',
  'Uppercase',
  'Lowercase',
  'Emoji',
  'Any',
  'ASCII',
  'Assigned',
  'Ideographic',
  'Join_Control',
]);

function translateProperty(name: string, negated: boolean, pattern: string, field: string): string {
  let prop = name;
  let neg = negated;
  if (prop.startsWith('^')) {
    neg = !neg;
    prop = prop.slice(1);
  }
  const letter = neg ? 'P' : 'p';
  if (prop.includes('=') || GENERAL_CATEGORIES.has(prop) || BINARY_PROPERTIES.has(prop)) {
    return `\\${letter}{${prop}}`;
  }
  const script = `\\${letter}{Script=${prop}}`;
  try {
    new RegExp(script, 'u');
  } catch {
    throw new ConfigError(
      `${field}: regex ${JSON.stringify(pattern)} uses the unknown Unicode property \\p{${name}}`,
      {
        field,
      },
    );
  }
  return script;
}

export function translateOnigRegex(pattern: string, field: string): RegExp {
  const fail = (what: string): never => {
    throw new ConfigError(
      `${field}: regex ${JSON.stringify(pattern)} cannot be translated to JavaScript: ${what}`,
      {
        field,
      },
    );
  };
  let out = '';
  let inClass = 0;
  // Stack of open groups: true when the group is a case-insensitive (?i:...) group.
  const groups: boolean[] = [];
  const caseInsensitive = () => groups.includes(true);
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === '\\') {
      const n = pattern[i + 1];
      if (n === undefined) fail('trailing backslash');
      switch (n) {
        case 's':
          out += inClass ? '\\p{White_Space}' : '\\p{White_Space}';
          i += 2;
          continue;
        case 'S':
          out += '\\P{White_Space}';
          i += 2;
          continue;
        case 'd':
          out += '\\p{Nd}';
          i += 2;
          continue;
        case 'D':
          out += '\\P{Nd}';
          i += 2;
          continue;
        case 'w':
          out += inClass ? WORD_IN_CLASS : `[${WORD}]`;
          i += 2;
          continue;
        case 'W':
          if (inClass) fail('\\W inside a character class');
          out += `[^${WORD}]`;
          i += 2;
          continue;
        case 'h':
          out += inClass ? '0-9a-fA-F' : '[0-9a-fA-F]';
          i += 2;
          continue;
        case 'A':
          out += '(?<![\\s\\S])';
          i += 2;
          continue;
        case 'z':
          out += '(?![\\s\\S])';
          i += 2;
          continue;
        case 'Z':
          out += '(?=\\n?(?![\\s\\S]))';
          i += 2;
          continue;
        case 'p':
        case 'P': {
          if (pattern[i + 2] !== '{') fail(`\\${n} without braces`);
          const close = pattern.indexOf('}', i + 3);
          if (close === -1) fail(`unterminated \\${n}{`);
          out += translateProperty(pattern.slice(i + 3, close), n === 'P', pattern, field);
          i = close + 1;
          continue;
        }
        case 'x': {
          if (pattern[i + 2] === '{') {
            const close = pattern.indexOf('}', i + 3);
            if (close === -1) fail('unterminated \\x{');
            out += `\\u{${pattern.slice(i + 3, close)}}`;
            i = close + 1;
            continue;
          }
          out += pattern.slice(i, i + 4);
          i += 4;
          continue;
        }
        case 'G':
        case 'K':
        case 'R':
        case 'X':
        case 'g':
          fail(`\\${n} is not supported`);
          break;
        default:
          out += c + n;
          i += 2;
          continue;
      }
    }
    if (inClass) {
      if (c === '[') {
        if (pattern[i + 1] === ':') fail('POSIX bracket classes');
        fail('nested character classes');
      }
      if (c === ']') inClass--;
      if (c === '&' && pattern[i + 1] === '&') fail('class intersection &&');
      if (caseInsensitive() && /[a-zA-Z]/.test(c)) {
        if (pattern[i + 1] === '-' || pattern[i - 1] === '-') fail('character ranges inside (?i:...)');
        out += c.toLowerCase() + c.toUpperCase();
      } else {
        out += c;
      }
      i++;
      continue;
    }
    if (c === '[') {
      inClass++;
      out += c;
      i++;
      if (pattern[i] === '^') {
        out += '^';
        i++;
      }
      if (pattern[i] === ']') {
        out += '\\]';
        i++;
      }
      continue;
    }
    if (c === '(') {
      if (pattern[i + 1] === '?') {
        const rest = pattern.slice(i + 2);
        if (rest.startsWith('>')) fail('atomic groups (?>...)');
        if (rest.startsWith('i:')) {
          groups.push(true);
          out += '(?:';
          i += 4;
          continue;
        }
        if (/^[imx-]+[:)]/.test(rest)) fail('inline flags (?imx)');
        if (rest.startsWith('#')) fail('comments (?#...)');
      }
      groups.push(false);
      out += c;
      i++;
      continue;
    }
    if (c === ')') {
      groups.pop();
      out += c;
      i++;
      continue;
    }
    if ((c === '+' || c === '*' || c === '?' || c === '}') && pattern[i + 1] === '+') {
      fail('possessive quantifiers');
    }
    if (c === '^' || c === '$') {
      // Ruby-syntax anchors are line anchors, and only \n ends a line.
      out += c === '^' ? '(?<![^\\n])' : '(?![^\\n])';
      i++;
      continue;
    }
    if (c === '.') {
      // Oniguruma's dot excludes only the newline; JavaScript's also excludes \r, U+2028 and U+2029.
      out += '[^\\n]';
      i++;
      continue;
    }
    if (caseInsensitive() && /[a-zA-Z]/.test(c)) {
      out += `[${c.toLowerCase()}${c.toUpperCase()}]`;
      i++;
      continue;
    }
    out += c;
    i++;
  }
  try {
    return new RegExp(out, 'gu');
  } catch (error) {
    throw new ConfigError(
      `${field}: regex ${JSON.stringify(pattern)} is not valid (${(error as Error).message.replace(/^Invalid regular expression: /, '')})`,
      { field, cause: error },
    );
  }
}

/** A literal string as a JavaScript regex source (Rust escapes String patterns the same way). */
export function escapeRegex(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}
