using System.Text;

namespace AiGateway.IntegrationTests.Dashboard;

/// <summary>A strict RFC 4180 reader for checking exports: quoted fields, doubled quotes, CRLF row ends.</summary>
public static class Csv
{
    /// <summary>Parses the whole text into rows of fields; throws on malformed quoting so a bad export fails the test.</summary>
    public static List<string[]> Parse(string text)
    {
        var rows = new List<string[]>();
        var fields = new List<string>();
        var field = new StringBuilder();
        var i = 0;
        while (i < text.Length)
        {
            if (text[i] == '"' && field.Length == 0)
            {
                i++;
                while (true)
                {
                    if (i >= text.Length) throw new FormatException("Unterminated quoted field.");
                    if (text[i] == '"')
                    {
                        if (i + 1 < text.Length && text[i + 1] == '"')
                        {
                            field.Append('"');
                            i += 2;
                            continue;
                        }
                        i++;
                        break;
                    }
                    field.Append(text[i++]);
                }
                if (i < text.Length && text[i] != ',' && text[i] != '\r') throw new FormatException($"Text after a closing quote at {i}.");
                continue;
            }
            switch (text[i])
            {
                case ',':
                    fields.Add(field.ToString());
                    field.Clear();
                    i++;
                    break;
                case '\r':
                    if (i + 1 >= text.Length || text[i + 1] != '\n') throw new FormatException($"Bare CR at {i}.");
                    fields.Add(field.ToString());
                    field.Clear();
                    rows.Add(fields.ToArray());
                    fields.Clear();
                    i += 2;
                    break;
                case '"':
                case '\n':
                    throw new FormatException($"Unexpected {(text[i] == '"' ? "quote" : "LF")} in an unquoted field at {i}.");
                default:
                    field.Append(text[i++]);
                    break;
            }
        }
        if (field.Length > 0 || fields.Count > 0) throw new FormatException("The last row does not end with CRLF.");
        return rows;
    }

    /// <summary>Rows as dictionaries keyed by the header row, checking every row has the header's width.</summary>
    public static (string[] Header, List<Dictionary<string, string>> Rows) ParseWithHeader(string text)
    {
        var rows = Parse(text);
        Assert.NotEmpty(rows);
        var header = rows[0];
        var result = new List<Dictionary<string, string>>();
        foreach (var row in rows.Skip(1))
        {
            Assert.Equal(header.Length, row.Length);
            result.Add(header.Zip(row).ToDictionary(p => p.First, p => p.Second));
        }
        return (header, result);
    }
}
