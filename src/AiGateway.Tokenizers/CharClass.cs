using System.Globalization;
using System.Runtime.CompilerServices;

namespace AiGateway.Tokenizers;

/// <summary>Per-code-point flags that the tiktoken pre-tokenizer patterns test (\p{L}, \p{N}, \s, case groups).</summary>
internal static class CharClass
{
    /// <summary>In [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}] (o200k "upper-ish" run).</summary>
    public const byte Upper = 1;
    /// <summary>In [\p{Ll}\p{Lm}\p{Lo}\p{M}] (o200k "lower-ish" run).</summary>
    public const byte Lower = 2;
    /// <summary>\p{L}.</summary>
    public const byte Letter = 4;
    /// <summary>\p{N}.</summary>
    public const byte Number = 8;
    /// <summary>\s (Unicode White_Space).</summary>
    public const byte Space = 16;
    /// <summary>\r or \n.</summary>
    public const byte NewLine = 32;

    // BMP lookup; surrogate code units map to the class of U+FFFD (no flags) because a lone
    // surrogate reaches tiktoken as U+FFFD (JS strings are UTF-8 encoded with replacement).
    private static readonly byte[] Bmp = BuildBmp();

    private static byte[] BuildBmp()
    {
        var table = new byte[65536];
        for (int c = 0; c < 65536; c++)
        {
            if (c is >= 0xD800 and <= 0xDFFF) continue;
            table[c] = Compute(c);
        }
        return table;
    }

    private static byte Compute(int codePoint)
    {
        byte flags = CharUnicodeInfo.GetUnicodeCategory(codePoint) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.TitlecaseLetter => Upper | Letter,
            UnicodeCategory.LowercaseLetter => Lower | Letter,
            UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => Upper | Lower | Letter,
            UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark => Upper | Lower,
            UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => Number,
            _ => 0,
        };
        if (codePoint <= 0xFFFF && char.IsWhiteSpace((char)codePoint)) flags |= Space;
        if (codePoint is '\r' or '\n') flags |= NewLine;
        return flags;
    }

    /// <summary>Flags of the code point starting at <paramref name="i"/>; <paramref name="width"/> is its UTF-16 length.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte At(ReadOnlySpan<char> s, int i, out int width)
    {
        char c = s[i];
        width = 1;
        if (!char.IsSurrogate(c)) return Bmp[c];
        return Astral(s, i, ref width);
    }

    private static byte Astral(ReadOnlySpan<char> s, int i, ref int width)
    {
        char c = s[i];
        if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
        {
            width = 2;
            return Compute(char.ConvertToUtf32(c, s[i + 1]));
        }
        return 0;
    }

    /// <summary>Matches [^\r\n\p{L}\p{N}] — the optional one-character prefix of a word.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsWordPrefix(byte flags) => (flags & (Letter | Number | NewLine)) == 0;

    /// <summary>Matches [^\s\p{L}\p{N}] — punctuation, symbols, marks, controls.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsOther(byte flags) => (flags & (Letter | Number | Space)) == 0;
}
