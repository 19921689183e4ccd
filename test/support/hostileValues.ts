/**
 * Strings that break a script when interpolated unquoted (command substitution, quotes, separators, newlines, an
 * option-like value, empty, non-ASCII): the quoting test passes each through shellQuote, and the state tests write each
 * into every string a record holds. One list, so that a value added for one is tried by both.
 */
export const HOSTILE_VALUES: readonly string[] = [
  "it's",
  "$(touch PWNED)",
  "`touch PWNED`",
  "a; touch PWNED",
  "line one\nline two; touch PWNED",
  "with space  and\ttab",
  "'; touch PWNED; echo '",
  "\\'\"$HOME${IFS}*?[a]",
  "-n",
  "",
  "trailing newline\n\n",
  "ünïcödé ✓",
];
