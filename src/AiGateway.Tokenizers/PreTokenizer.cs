using System.Runtime.CompilerServices;
using static AiGateway.Tokenizers.CharClass;

namespace AiGateway.Tokenizers;

/// <summary>Which tiktoken split pattern (pat_str) a pre-tokenizer reproduces.</summary>
internal enum SplitPattern
{
    /// <summary>o200k_base: case-aware words with attached contractions, '/' kept after punctuation.</summary>
    O200k,
    /// <summary>cl100k_base: standalone contractions, plain \p{L}+ words.</summary>
    Cl100k,
}

/// <summary>
/// Hand-written equivalent of tiktoken's backtracking split regexes. Each method returns the end
/// (exclusive, UTF-16 index) of the piece starting at <c>pos</c>; pieces are contiguous and non-empty.
/// Alternatives are tried in pattern order, first match wins (Perl/fancy-regex semantics, not longest match).
/// </summary>
internal static class PreTokenizer
{
    /// <summary>Returns the end of the next piece for the given pattern.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int NextEnd(SplitPattern pattern, ReadOnlySpan<char> s, int pos)
        => pattern == SplitPattern.O200k ? NextO200k(s, pos) : NextCl100k(s, pos);

    /// <summary>
    /// o200k_base pat_str:
    /// <c>[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?</c>
    /// <c>|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?</c>
    /// <c>|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+</c>
    /// </summary>
    public static int NextO200k(ReadOnlySpan<char> s, int pos)
    {
        byte c0 = At(s, pos, out int w0);
        bool prefix = IsWordPrefix(c0) && pos + w0 < s.Length;
        if ((c0 & (Upper | Lower)) != 0 || prefix)
        {
            int end;
            if (prefix && (end = UpperThenLower(s, pos + w0)) >= 0) return end;
            if ((end = UpperThenLower(s, pos)) >= 0) return end;
            if (prefix && (end = UpperRunThenLower(s, pos + w0)) >= 0) return end;
            if ((end = UpperRunThenLower(s, pos)) >= 0) return end;
        }
        if ((c0 & Number) != 0) return Digits(s, pos + w0);
        int punct = Punctuation(s, pos, c0, w0, slashToo: true);
        if (punct >= 0) return punct;
        return Whitespace(s, pos);
    }

    /// <summary>
    /// cl100k_base pat_str:
    /// <c>(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+</c>
    /// </summary>
    public static int NextCl100k(ReadOnlySpan<char> s, int pos)
    {
        if (s[pos] == '\'')
        {
            int c = Contraction(s, pos);
            if (c > pos) return c;
        }
        byte c0 = At(s, pos, out int w0);
        if (IsWordPrefix(c0) && pos + w0 < s.Length)
        {
            byte c1 = At(s, pos + w0, out int w1);
            if ((c1 & Letter) != 0) return Run(s, pos + w0 + w1, Letter);
        }
        if ((c0 & Letter) != 0) return Run(s, pos + w0, Letter);
        if ((c0 & Number) != 0) return Digits(s, pos + w0);
        int punct = Punctuation(s, pos, c0, w0, slashToo: false);
        if (punct >= 0) return punct;
        return Whitespace(s, pos);
    }

    // [U]*[W]+ with backtracking: U* is greedy, so W+ starts either right after the U-run
    // (when that character is a lowercase letter) or at the last W member inside the U-run.
    private static int UpperThenLower(ReadOnlySpan<char> s, int q)
    {
        int i = q, lastLowerEnd = -1;
        while (i < s.Length)
        {
            byte c = At(s, i, out int w);
            if ((c & Upper) == 0)
            {
                if ((c & Lower) != 0) return Contraction(s, Run(s, i + w, Lower));
                break;
            }
            i += w;
            if ((c & Lower) != 0) lastLowerEnd = i;
        }
        return lastLowerEnd < 0 ? -1 : Contraction(s, lastLowerEnd);
    }

    // [U]+[W]*: greedy, no backtracking needed since both runs are maximal and the rest is optional.
    private static int UpperRunThenLower(ReadOnlySpan<char> s, int q)
    {
        if (q >= s.Length) return -1;
        byte c = At(s, q, out int w);
        if ((c & Upper) == 0) return -1;
        int i = Run(s, q + w, Upper);
        return Contraction(s, Run(s, i, Lower));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Run(ReadOnlySpan<char> s, int i, byte flag)
    {
        while (i < s.Length)
        {
            byte c = At(s, i, out int w);
            if ((c & flag) == 0) break;
            i += w;
        }
        return i;
    }

    // \p{N}{1,3}; the first digit is already consumed.
    private static int Digits(ReadOnlySpan<char> s, int i)
    {
        for (int k = 1; k < 3 && i < s.Length; k++)
        {
            byte c = At(s, i, out int w);
            if ((c & Number) == 0) break;
            i += w;
        }
        return i;
    }

    // (?i:'s|'t|'re|'ve|'m|'ll|'d) at i; returns i when absent. Case folding follows Rust regex
    // simple folding, where 's' also matches U+017F LATIN SMALL LETTER LONG S. (With these vocabularies no
    // token spans "'ſ", so the oracle cannot tell the two readings apart; we keep the regex-crate one.)
    private static int Contraction(ReadOnlySpan<char> s, int i)
    {
        if (i + 1 >= s.Length || s[i] != '\'') return i;
        char a = s[i + 1];
        switch (a)
        {
            case 's' or 'S' or 't' or 'T' or 'm' or 'M' or 'd' or 'D' or '\u017F':
                return i + 2;
            case 'r' or 'R' or 'v' or 'V':
                return i + 2 < s.Length && (s[i + 2] | 0x20) == 'e' ? i + 3 : i;
            case 'l' or 'L':
                return i + 2 < s.Length && (s[i + 2] | 0x20) == 'l' ? i + 3 : i;
            default:
                return i;
        }
    }

    // " ?[^\s\p{L}\p{N}]+[\r\n/]*" (o200k) or " ?[^\s\p{L}\p{N}]+[\r\n]*" (cl100k); -1 if no match.
    private static int Punctuation(ReadOnlySpan<char> s, int pos, byte c0, int w0, bool slashToo)
    {
        int i;
        if (s[pos] == ' ' && pos + 1 < s.Length && IsOther(At(s, pos + 1, out int w1))) i = pos + 1 + w1;
        else if (IsOther(c0)) i = pos + w0;
        else return -1;
        while (i < s.Length)
        {
            byte c = At(s, i, out int w);
            if (!IsOther(c)) break;
            i += w;
        }
        while (i < s.Length && (s[i] is '\r' or '\n' || (slashToo && s[i] == '/'))) i++;
        return i;
    }

    // "\s*[\r\n]+|\s+(?!\S)|\s+" starting on a whitespace character. White_Space is all BMP,
    // so each whitespace code point is one UTF-16 unit.
    private static int Whitespace(ReadOnlySpan<char> s, int pos)
    {
        int i = pos, lastNewLineEnd = -1;
        while (i < s.Length)
        {
            byte c = At(s, i, out _);
            if ((c & Space) == 0) break;
            i++;
            if ((c & NewLine) != 0) lastNewLineEnd = i;
        }
        if (lastNewLineEnd >= 0) return lastNewLineEnd;
        if (i == s.Length || i - pos == 1) return i;
        return i - 1;
    }
}
