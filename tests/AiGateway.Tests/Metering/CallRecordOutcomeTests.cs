using System.Reflection;
using AiGateway.Metering;
using AiGateway.Storage;

namespace AiGateway.Tests.Metering;

/// <summary>
/// <see cref="CallRecorder.SameOutcome"/> decides whether a leased call's record, stored with its settlement, is
/// corrected when the call ends: a field it does not compare would keep a stale value silently. Every property of
/// <see cref="CallRecord"/> but the row id and the duration must count — also the ones added later.
/// </summary>
public sealed class CallRecordOutcomeTests
{
    private static readonly string[] NotCompared = [nameof(CallRecord.Id), nameof(CallRecord.DurationMs)];

    public static TheoryData<string> ComparedProperties()
    {
        var data = new TheoryData<string>();
        foreach (var property in typeof(CallRecord).GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.CanWrite && !NotCompared.Contains(property.Name)) data.Add(property.Name);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(ComparedProperties))]
    public void AChangeInAnyOutcomeField_IsADifferentOutcome(string name)
    {
        var stored = Sample();
        var final = Sample();
        var property = typeof(CallRecord).GetProperty(name)!;
        property.SetValue(final, Different(property.PropertyType, property.GetValue(final)));

        Assert.True(CallRecorder.SameOutcome(stored, stored), "a record equals itself");
        Assert.False(CallRecorder.SameOutcome(stored, final),
            $"records differing in {name} count as the same outcome: the settlement-time record would not be corrected");
    }

    [Fact]
    public void RowIdAndDuration_AreNotPartOfTheOutcome()
    {
        var stored = Sample();
        var final = Sample();
        final.Id = stored.Id + 1;
        final.DurationMs = stored.DurationMs + 250;

        Assert.True(CallRecorder.SameOutcome(stored, final));
    }

    private static CallRecord Sample() => new()
    {
        Id = 7, RequestId = "req_1", AccountId = new Guid("0197a1b2-3c4d-7e5f-8a9b-0c1d2e3f4a5b"),
        KeyId = new Guid("0197a1b2-3c4d-7e5f-8a9b-0c1d2e3f4a5c"), Route = "openai", Provider = "openai", Model = "gpt-4o",
        PricedModel = "gpt-4o", Operation = "Chat", Stream = true, InputTokens = 11, CachedInputTokens = 2,
        CacheWriteInputTokens = 3, OutputTokens = 5, ReasoningTokens = 1, Images = 0, VideoSeconds = 0, AudioUses = 0,
        EstimatedInputTokens = 12, EstimatedOutputTokens = 40, EstimateMicro = 900, ChargedMicro = 300, OverageMicro = 0,
        StatusCode = 200, UsageSource = "provider", Clamped = false, Unlimited = false, AttemptCount = 1,
        Attempts = "primary:200", Error = null, Feature = "chat", Task = null,
        StartedAt = new DateTimeOffset(2026, 12, 1, 5, 0, 0, TimeSpan.Zero), DurationMs = 800, FirstByteMs = 90, UsageClamped = false,
    };

    private static object? Different(Type type, object? value)
    {
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        if (underlying == typeof(string)) return (string?)value + "-changed";
        if (underlying == typeof(bool)) return !(bool)(value ?? false);
        if (underlying == typeof(int)) return (int)(value ?? 0) + 1;
        if (underlying == typeof(long)) return (long)(value ?? 0L) + 1;
        if (underlying == typeof(Guid)) return Guid.NewGuid();
        if (underlying == typeof(DateTimeOffset)) return ((DateTimeOffset)(value ?? DateTimeOffset.UnixEpoch)).AddSeconds(1);
        throw new NotSupportedException($"CallRecord property of type {type.Name}: add a changed value here.");
    }
}
