SELECT
  `t1`.`customer_id`,
  `t1`.`recency_days`,
  `t1`.`frequency`,
  `t1`.`monetary_total`,
  CASE
    WHEN (
      `t1`.`__segmint_r` * 10
    ) + `t1`.`__segmint_fm` IN (11, 21)
    THEN 'Gone'
    WHEN (
      `t1`.`__segmint_r` * 10
    ) + `t1`.`__segmint_fm` IN (12, 13, 22, 23, 31)
    THEN 'Other'
    WHEN (
      `t1`.`__segmint_r` * 10
    ) + `t1`.`__segmint_fm` IN (32, 33)
    THEN 'Best'
    ELSE 'No purchase'
  END AS `segment`
FROM (
  SELECT
    `t0`.`customer_id`,
    `t0`.`recency_days`,
    `t0`.`frequency`,
    `t0`.`monetary_total`,
    IF(
      COALESCE(CAST(`t0`.`frequency` AS DOUBLE) > 0.0, FALSE),
      1 + IF(COALESCE(CAST(`t0`.`recency_days` AS DOUBLE) <= 30.0, FALSE), 1, 0) + IF(COALESCE(CAST(`t0`.`recency_days` AS DOUBLE) <= 5.0, FALSE), 1, 0),
      0
    ) AS `__segmint_r`,
    IF(
      COALESCE(CAST(`t0`.`frequency` AS DOUBLE) > 0.0, FALSE),
      CAST(FLOOR(
        (
          1 + IF(COALESCE(CAST(`t0`.`frequency` AS DOUBLE) >= 2.0, FALSE), 1, 0) + IF(COALESCE(CAST(`t0`.`frequency` AS DOUBLE) >= 7.0, FALSE), 1, 0) + (
            1 + IF(
              COALESCE(
                IF(ISNAN(`t0`.`monetary_total`), CAST(NULL AS DOUBLE), `t0`.`monetary_total`) >= 40.0,
                FALSE
              ),
              1,
              0
            ) + IF(
              COALESCE(
                IF(ISNAN(`t0`.`monetary_total`), CAST(NULL AS DOUBLE), `t0`.`monetary_total`) >= 90.5,
                FALSE
              ),
              1,
              0
            )
          ) + 1
        ) / (
          2
        )
      ) AS BIGINT),
      0
    ) AS `__segmint_fm`
  FROM `customer_features` AS `t0`
) AS `t1`
