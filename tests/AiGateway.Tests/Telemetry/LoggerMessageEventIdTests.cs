using System.Reflection;
using Microsoft.Extensions.Logging;

namespace AiGateway.Tests.Telemetry;

/// <summary>Every source-generated log method of the gateway has its own event id (operators filter and alert on them).</summary>
public sealed class LoggerMessageEventIdTests
{
    private static readonly (MethodInfo Method, LoggerMessageAttribute Attribute)[] LogMethods = typeof(Program).Assembly.GetTypes()
        .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
        .Select(m => (Method: m, Attribute: m.GetCustomAttribute<LoggerMessageAttribute>()!))
        .Where(x => x.Attribute is not null)
        .ToArray();

    private static string Name(MethodInfo method) => $"{method.DeclaringType!.FullName}.{method.Name}";

    [Fact]
    public void LoggerMessages_EventIds_AreSetAndUnique()
    {
        // The gateway's log calls all go through [LoggerMessage] methods (about fifty).
        Assert.True(LogMethods.Length >= 45, $"only {LogMethods.Length} [LoggerMessage] methods found");
        Assert.All(LogMethods, x => Assert.True(x.Attribute.EventId > 0, $"{Name(x.Method)} has no event id"));
        var duplicates = LogMethods.GroupBy(x => x.Attribute.EventId).Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(x => Name(x.Method)))}").ToList();
        Assert.True(duplicates.Count == 0, "duplicate event ids: " + string.Join("; ", duplicates));
    }

    [Fact]
    public void LoggerMessages_EventIds_StayInTheirConcernsRange()
    {
        // Each folder (concern) owns a block of a thousand ids, so a new message's id is found in one place.
        var ranges = new Dictionary<string, int>
        {
            ["AiGateway.Hosting"] = 1000, ["AiGateway.Metering"] = 2000, ["AiGateway.Proxy"] = 3000, ["AiGateway.Packs"] = 4000,
            ["AiGateway.Ledger"] = 5000, ["AiGateway.History"] = 6000, ["AiGateway.Notifications"] = 7000,
        };
        Assert.All(LogMethods, x =>
        {
            var ns = x.Method.DeclaringType!.Namespace!;
            var start = ranges.Where(r => ns == r.Key || ns.StartsWith(r.Key + ".", StringComparison.Ordinal)).Select(r => (int?)r.Value).SingleOrDefault();
            Assert.True(start is not null, $"{Name(x.Method)}: namespace {ns} has no event id range");
            Assert.InRange(x.Attribute.EventId, start!.Value, start.Value + 999);
        });
    }
}
