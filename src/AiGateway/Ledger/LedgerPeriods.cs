namespace AiGateway.Ledger;

/// <summary>Plan cycle boundaries, always in UTC: months for plan credits, days for daily credits.</summary>
public static class LedgerPeriods
{
    /// <summary>The first instant of the UTC calendar month containing <paramref name="now"/>.</summary>
    public static DateTimeOffset MonthStart(DateTimeOffset now)
    {
        var utc = now.ToUniversalTime();
        return new DateTimeOffset(utc.Year, utc.Month, 1, 0, 0, 0, TimeSpan.Zero);
    }

    /// <summary>The first instant of the next UTC calendar month (the exclusive end of the current one).</summary>
    public static DateTimeOffset MonthEnd(DateTimeOffset now) => MonthStart(now).AddMonths(1);

    /// <summary>The first instant of the UTC day containing <paramref name="now"/>.</summary>
    public static DateTimeOffset DayStart(DateTimeOffset now)
    {
        var utc = now.ToUniversalTime();
        return new DateTimeOffset(utc.Year, utc.Month, utc.Day, 0, 0, 0, TimeSpan.Zero);
    }

    /// <summary>The first instant of the next UTC day.</summary>
    public static DateTimeOffset DayEnd(DateTimeOffset now) => DayStart(now).AddDays(1);

    /// <summary>The period name of days.</summary>
    public const string Day = "day";

    /// <summary>The period name of ISO weeks (Monday to Monday, UTC).</summary>
    public const string Week = "week";

    /// <summary>The period name of calendar months.</summary>
    public const string Month = "month";

    /// <summary>Whether the text names a period a recurring grant can use.</summary>
    public static bool IsKnown(string? period) => period is Day or Week or Month;

    /// <summary>The first instant of the UTC day, ISO week or month containing <paramref name="now"/>.</summary>
    public static DateTimeOffset PeriodStart(string period, DateTimeOffset now) => period switch
    {
        Day => DayStart(now),
        Week => DayStart(now).AddDays(-(((int)now.ToUniversalTime().DayOfWeek + 6) % 7)),
        _ => MonthStart(now),
    };

    /// <summary>The exclusive end of the period containing <paramref name="now"/>.</summary>
    public static DateTimeOffset PeriodEnd(string period, DateTimeOffset now) => period switch
    {
        Day => DayEnd(now),
        Week => PeriodStart(Week, now).AddDays(7),
        _ => MonthEnd(now),
    };
}
