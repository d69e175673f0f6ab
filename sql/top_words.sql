-- The 100 most used words: lower-cased, punctuation stripped, Portuguese and English stop words left out.
WITH words AS (
  SELECT word
  FROM telegram
  CROSS JOIN UNNEST(
    -- Strip punctuation inside words ("don't" → "dont"), then take runs of letters and digits.
    regexp_extract_all(regexp_replace(lower(text), '[^\p{L}\p{N}\s]+', ''), '[\p{L}\p{N}]+')
  ) AS t (word)
  WHERE text IS NOT NULL
)
SELECT
  word,
  count(*) AS total
FROM words
WHERE length(word) > 1 AND word NOT IN (
    'a', 'about', 'after', 'all', 'also', 'an', 'and', 'any', 'ao', 'aos', 'aquela', 'aquelas',
    'aquele', 'aqueles', 'aquilo', 'are', 'as', 'at', 'até', 'be', 'because', 'been', 'but', 'by',
    'can', 'com', 'como', 'could', 'da', 'das', 'de', 'dela', 'delas', 'dele', 'deles', 'depois',
    'did', 'do', 'does', 'dos', 'e', 'ela', 'elas', 'ele', 'eles', 'em', 'entre', 'era', 'eram',
    'essa', 'essas', 'esse', 'esses', 'esta', 'estas', 'este', 'estes', 'está', 'estão', 'eu',
    'foi', 'for', 'foram', 'from', 'had', 'has', 'have', 'he', 'her', 'him', 'his', 'how', 'há',
    'i', 'if', 'in', 'into', 'is', 'isso', 'isto', 'it', 'its', 'just', 'já', 'lhe', 'lhes',
    'mais', 'mas', 'me', 'mesmo', 'meu', 'meus', 'minha', 'minhas', 'more', 'muito', 'my', 'na',
    'nas', 'nem', 'no', 'nos', 'nossa', 'nossas', 'nosso', 'nossos', 'not', 'num', 'numa', 'não',
    'nós', 'o', 'of', 'on', 'or', 'os', 'ou', 'our', 'out', 'para', 'pela', 'pelas', 'pelo',
    'pelos', 'por', 'qual', 'quando', 'que', 'quem', 'se', 'seja', 'sem', 'ser', 'seu', 'seus',
    'she', 'so', 'some', 'sua', 'suas', 'só', 'também', 'te', 'tem', 'teu', 'than', 'that', 'the',
    'their', 'them', 'then', 'there', 'they', 'this', 'to', 'tua', 'têm', 'um', 'uma', 'umas',
    'uns', 'up', 'us', 'você', 'vocês', 'vos', 'was', 'we', 'were', 'what', 'when', 'which', 'who',
    'will', 'with', 'would', 'you', 'your', 'à', 'às', 'é'
)
GROUP BY word
ORDER BY total DESC, word
LIMIT 100
