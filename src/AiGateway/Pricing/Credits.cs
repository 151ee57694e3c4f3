using System.Globalization;

namespace AiGateway.Pricing;

/// <summary>An amount of credits held as integer micro-credits (1 credit = 1,000,000 micro-credits).</summary>
public readonly record struct Credits(long Micro) : IComparable<Credits>
{
    /// <summary>Micro-credits in one credit.</summary>
    public const long MicroPerCredit = 1_000_000;

    /// <summary>Zero credits.</summary>
    public static readonly Credits Zero = new(0);

    /// <summary>Whole credits to micro-credits.</summary>
    public static Credits FromCredits(long credits) => new(checked(credits * MicroPerCredit));

    /// <summary>Parses a decimal credit amount (e.g. "0.5") exactly, rounding half away from zero at the micro-credit.</summary>
    public static Credits FromDecimal(decimal credits) =>
        new((long)decimal.Round(credits * MicroPerCredit, 0, MidpointRounding.AwayFromZero));

    /// <summary>The amount as a decimal number of credits (for APIs and headers only, never for arithmetic on balances).</summary>
    public decimal ToDecimal() => (decimal)Micro / MicroPerCredit;

    /// <summary>Invariant-culture decimal text without trailing zeros, e.g. "12.5".</summary>
    public override string ToString()
    {
        // The same text as decimal's "0.######" format, in integer arithmetic: every metered answer writes three or four
        // of these headers, and the decimal division plus the custom format string cost ≈ 0.2 µs each.
        if (Micro == long.MinValue) return ToDecimal().ToString("0.######", CultureInfo.InvariantCulture);
        Span<char> text = stackalloc char[24];
        var length = 0;
        if (Micro < 0) text[length++] = '-';
        var magnitude = Math.Abs(Micro);
        (magnitude / MicroPerCredit).TryFormat(text[length..], out var written, default, CultureInfo.InvariantCulture);
        length += written;
        if (magnitude % MicroPerCredit is var fraction and not 0)
        {
            text[length++] = '.';
            fraction.TryFormat(text[length..], out written, "D6", CultureInfo.InvariantCulture);
            length += written;
            while (text[length - 1] == '0') length--;
        }
        return new string(text[..length]);
    }

    public static Credits operator +(Credits a, Credits b) => new(checked(a.Micro + b.Micro));
    public static Credits operator -(Credits a, Credits b) => new(checked(a.Micro - b.Micro));
    public static bool operator <(Credits a, Credits b) => a.Micro < b.Micro;
    public static bool operator >(Credits a, Credits b) => a.Micro > b.Micro;
    public static bool operator <=(Credits a, Credits b) => a.Micro <= b.Micro;
    public static bool operator >=(Credits a, Credits b) => a.Micro >= b.Micro;

    /// <summary>The smaller of two amounts.</summary>
    public static Credits Min(Credits a, Credits b) => a.Micro <= b.Micro ? a : b;

    /// <summary>The larger of two amounts.</summary>
    public static Credits Max(Credits a, Credits b) => a.Micro >= b.Micro ? a : b;

    public int CompareTo(Credits other) => Micro.CompareTo(other.Micro);
}
