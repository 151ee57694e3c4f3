using System.Text.RegularExpressions;
using AiGateway.Hosting;

namespace AiGateway.Tests.Hosting;

public class StartupHelpTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void StartupHelp_EveryShellVariableItUses_IsSetByTheHintItself(bool adminConfigured)
    {
        var help = HostingExtensions.StartupHelp("http://127.0.0.1:8080", adminConfigured);

        // Pasted into a fresh shell, a command must not use a variable nothing set (it would send "Bearer " and get 401).
        var used = Regex.Matches(help, @"\$([A-Za-z_][A-Za-z0-9_]*)").Select(m => m.Groups[1].Value).Distinct().ToList();
        Assert.NotEmpty(used); // the admin commands do use one
        foreach (var name in used)
        {
            var set = help.IndexOf($"export {name}=", StringComparison.Ordinal);
            var firstUse = help.IndexOf("$" + name, StringComparison.Ordinal);
            Assert.True(set >= 0 && set < firstUse, $"${name} is used but never exported before its first use:\n{help}");
        }
    }
}
