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
}
