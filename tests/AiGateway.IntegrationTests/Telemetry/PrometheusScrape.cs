using System.Globalization;

namespace AiGateway.IntegrationTests.Telemetry;

/// <summary>A parsed Prometheus text exposition: sums the samples of a metric whose labels include the given ones.</summary>
public sealed class PrometheusScrape(string text)
{
    /// <summary>The raw text (for assertion messages).</summary>
    public string Text { get; } = text;

    /// <summary>The sum of the samples named <paramref name="name"/> carrying every label of <paramref name="labels"/> (0 when none).</summary>
    public double Sum(string name, params (string Key, string Value)[] labels)
    {
        var total = 0.0;
        foreach (var line in Text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#') continue;
            var brace = line.IndexOf('{');
            var space = line.IndexOf(' ');
            var metric = brace > 0 && brace < space ? line[..brace] : line[..space];
            if (metric != name) continue;
            var labelText = brace > 0 && brace < space ? line[(brace + 1)..line.IndexOf('}')] : "";
            if (!labels.All(l => labelText.Contains($"{l.Key}=\"{l.Value}\"", StringComparison.Ordinal))) continue;
            var rest = line[(line.LastIndexOf('}') is var close && close > 0 ? close + 1 : space)..].Trim().Split(' ');
            total += double.Parse(rest[0], CultureInfo.InvariantCulture);
        }
        return total;
    }

    /// <summary>Whether any sample of <paramref name="name"/> is present.</summary>
    public bool Has(string name) => Text.Split('\n').Any(l => l.StartsWith(name + "{", StringComparison.Ordinal) || l.StartsWith(name + " ", StringComparison.Ordinal));
}
