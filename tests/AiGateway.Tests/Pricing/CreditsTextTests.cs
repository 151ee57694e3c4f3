using System.Globalization;
using AiGateway.Pricing;

namespace AiGateway.Tests.Pricing;

/// <summary>
/// <see cref="Credits.ToString"/> is the text of every <c>X-Credits-*</c> header and API amount: it must stay exactly
/// what decimal's <c>"0.######"</c> format gives (it is computed in integer arithmetic now, for speed).
/// </summary>
public class CreditsTextTests
{
    [Theory]
    [InlineData(0L, "0")]
    [InlineData(1L, "0.000001")]
    [InlineData(10L, "0.00001")]
    [InlineData(500_000L, "0.5")]
    [InlineData(1_000_000L, "1")]
    [InlineData(12_500_000L, "12.5")]
    [InlineData(1_234_567L, "1.234567")]
    [InlineData(100_000_000_000L, "100000")]
    [InlineData(-1L, "-0.000001")]
    [InlineData(-500_000L, "-0.5")]
    [InlineData(-12_340_000L, "-12.34")]
    [InlineData(long.MaxValue, "9223372036854.775807")]
    [InlineData(long.MinValue, "-9223372036854.775808")]
    public void ToString_KnownAmounts_PlainDecimalWithoutTrailingZeros(long micro, string expected) =>
        Assert.Equal(expected, new Credits(micro).ToString());

    [Fact]
    public void ToString_ManyAmounts_SameAsDecimalFormat()
    {
        var random = new Random(13);
        for (var i = 0; i < 20_000; i++)
        {
            // Every magnitude from micro-credits to the extremes, both signs, and round numbers (trailing zeros).
            var micro = (i % 4) switch
            {
                0 => random.NextInt64(-2_000_000, 2_000_000),
                1 => random.NextInt64(long.MinValue, long.MaxValue),
                2 => random.NextInt64(-1_000_000_000, 1_000_000_000) * (long)Math.Pow(10, random.Next(0, 7)),
                _ => random.NextInt64(-100, 100) * 1_000_000 + random.Next(0, 10) * 100_000,
            };
            var expected = ((decimal)micro / Credits.MicroPerCredit).ToString("0.######", CultureInfo.InvariantCulture);
            Assert.True(expected == new Credits(micro).ToString(), $"{micro}: expected {expected}, got {new Credits(micro)}");
        }
    }
}
