using AiGateway.Metering;
using AiGateway.Pricing;

namespace AiGateway.Tests.Pricing;

/// <summary>Properties over many random prices and usages (fixed seeds, so a failure reproduces).</summary>
public sealed class CostCalculatorPropertyTests
{
    private const int Cases = 2_000;

    private static ModelPrice RandomPrice(Random random)
    {
        decimal Rate() => random.Next(0, 4) == 0 ? 0m : random.Next(0, 200_000_000) / 1_000_000m;
        return PricingTestData.Price(new ModelPriceOptions
        {
            Provider = "p",
            Encoding = "o200k_base",
            PerTokens = random.Next(0, 2) == 0 ? 1_000_000 : random.Next(1, 20_000),
            Input = Rate(),
            CachedInput = Rate(),
            CacheWrite = Rate(),
            Output = Rate(),
            Reasoning = Rate(),
            PerRequest = Rate(),
            Multiplier = random.Next(0, 30) / 10m,
            PerImage = Rate(),
            PerVideoSecond = Rate(),
            PerAudioUse = Rate(),
        });
    }

    private static CallUsage RandomUsage(Random random)
    {
        var input = random.NextInt64(0, 2_000_000);
        var output = random.NextInt64(0, 200_000);
        return new CallUsage
        {
            InputTokens = input,
            CachedInputTokens = random.NextInt64(0, input + 1),
            CacheWriteInputTokens = random.NextInt64(0, 100_000),
            OutputTokens = output,
            ReasoningTokens = random.NextInt64(0, output + 1),
            Images = random.Next(0, 5),
            VideoSeconds = random.Next(0, 30),
            AudioUses = random.Next(0, 3),
        };
    }

    [Fact]
    public void Cost_MoreOfAnyUnit_NeverCostsLess()
    {
        var random = new Random(20261122);
        for (var i = 0; i < Cases; i++)
        {
            var price = RandomPrice(random);
            var usage = RandomUsage(random);
            var cost = CostCalculator.Cost(price, usage);
            var extra = random.Next(1, 10_000);
            CallUsage[] more =
            [
                usage with { InputTokens = usage.InputTokens + extra },
                usage with { InputTokens = usage.InputTokens + extra, CachedInputTokens = usage.CachedInputTokens + extra },
                usage with { InputTokens = usage.InputTokens + extra, CacheWriteInputTokens = usage.CacheWriteInputTokens + extra },
                usage with { OutputTokens = usage.OutputTokens + extra },
                usage with { OutputTokens = usage.OutputTokens + extra, ReasoningTokens = usage.ReasoningTokens + extra },
                usage with { Images = usage.Images + 1 },
                usage with { VideoSeconds = usage.VideoSeconds + 1 },
                usage with { AudioUses = usage.AudioUses + 1 },
            ];
            foreach (var bigger in more)
                Assert.True(CostCalculator.Cost(price, bigger) >= cost, $"case {i}: {bigger} cost less than {usage}");
        }
    }

    [Fact]
    public void Cost_RandomUsage_IsNonNegativeAndWithinOneMicroPerTokenLineOfExact()
    {
        var random = new Random(4242);
        for (var i = 0; i < Cases; i++)
        {
            var price = RandomPrice(random);
            var u = RandomUsage(random);
            var cost = CostCalculator.Cost(price, u).Micro;
            Assert.True(cost >= 0);

            // Exact value × perTokens, computed independently of the calculator's line structure.
            var n = (Int128)price.PerTokens;
            var exactTimesN = (Int128)Math.Max(0, u.InputTokens - u.CachedInputTokens - u.CacheWriteInputTokens) * price.Input.Micro
                + (Int128)u.CachedInputTokens * price.CachedInput.Micro
                + (Int128)u.CacheWriteInputTokens * price.CacheWrite.Micro
                + (Int128)(u.OutputTokens - u.ReasoningTokens) * price.Output.Micro
                + (Int128)u.ReasoningTokens * price.Reasoning.Micro
                + n * (price.PerRequest.Micro + u.Images * price.PerImage.Micro + u.VideoSeconds * price.PerVideoSecond.Micro + u.AudioUses * price.PerAudioUse.Micro);
            Assert.True(cost * n >= exactTimesN, $"case {i}: rounded down");
            Assert.True((cost - 5) * n < exactTimesN || cost < 5, $"case {i}: rounded up by more than one micro-credit per token line");
        }
    }

    [Fact]
    public void Estimate_SameTokensAsActual_IsNotBelowActualWhenCacheIsCheaper()
    {
        var random = new Random(77);
        for (var i = 0; i < Cases; i++)
        {
            var price = RandomPrice(random);
            var u = RandomUsage(random) with { CacheWriteInputTokens = 0, Images = 0, VideoSeconds = 0, AudioUses = 0 };
            if (price.CachedInput > price.Input)
                continue;
            var estimate = CostCalculator.Estimate(price, u.InputTokens, u.OutputTokens, EstimateUnits.None);
            Assert.True(estimate >= CostCalculator.Cost(price, u), $"case {i}");
        }
    }
}
