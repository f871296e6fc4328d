SELECT
  `t3`.`customer_id`,
  `t3`.`n` - 1 AS `frequency`,
  CAST(`t3`.`last` - `t3`.`first` AS DOUBLE) / 7.0 AS `recency`,
  CAST(DATEDIFF(DAY, MAKE_DATE(1970, 1, 1), MAKE_DATE(2024, 3, 1)) - `t3`.`first` AS DOUBLE) / 7.0 AS `T`,
  IF(
    (
      `t3`.`n` - 1
    ) > 0,
    (
      `t3`.`revenue` - `t3`.`first_value`
    ) / CAST(`t3`.`n` - 1 AS DOUBLE),
    0.0
  ) AS `monetary_value`,
  `t3`.`revenue`
FROM (
  SELECT
    `t2`.`customer_id`,
    COUNT(`t2`.`day`) AS `n`,
    MIN(`t2`.`day`) AS `first`,
    MAX(`t2`.`day`) AS `last`,
    IF(
      (
        SUM(
          CAST(IF(COALESCE(ABS(`t2`.`value`) < 1000000000000.0, FALSE), `t2`.`value`, NULL) AS DECIMAL(18, 6))
        ) IS NULL
      )
      AND (
        SUM(IF(COALESCE(ABS(`t2`.`value`) < 1000000000000.0, FALSE), NULL, `t2`.`value`)) IS NULL
        OR ISNAN(
          SUM(IF(COALESCE(ABS(`t2`.`value`) < 1000000000000.0, FALSE), NULL, `t2`.`value`))
        )
      ),
      CAST(NULL AS DOUBLE),
      COALESCE(
        CAST(SUM(
          CAST(IF(COALESCE(ABS(`t2`.`value`) < 1000000000000.0, FALSE), `t2`.`value`, NULL) AS DECIMAL(18, 6))
        ) AS DOUBLE),
        0.0
      ) + COALESCE(
        SUM(IF(COALESCE(ABS(`t2`.`value`) < 1000000000000.0, FALSE), NULL, `t2`.`value`)),
        0.0
      )
    ) AS `revenue`,
    MIN_BY(`t2`.`value`, `t2`.`day`) AS `first_value`
  FROM (
    SELECT
      `t1`.`customer_id`,
      `t1`.`day`,
      IF(
        (
          SUM(
            CAST(IF(COALESCE(ABS(`t1`.`paid`) < 1000000000000.0, FALSE), `t1`.`paid`, NULL) AS DECIMAL(18, 6))
          ) IS NULL
        )
        AND (
          SUM(IF(COALESCE(ABS(`t1`.`paid`) < 1000000000000.0, FALSE), NULL, `t1`.`paid`)) IS NULL
          OR ISNAN(SUM(IF(COALESCE(ABS(`t1`.`paid`) < 1000000000000.0, FALSE), NULL, `t1`.`paid`)))
        ),
        CAST(NULL AS DOUBLE),
        COALESCE(
          CAST(SUM(
            CAST(IF(COALESCE(ABS(`t1`.`paid`) < 1000000000000.0, FALSE), `t1`.`paid`, NULL) AS DECIMAL(18, 6))
          ) AS DOUBLE),
          0.0
        ) + COALESCE(
          SUM(IF(COALESCE(ABS(`t1`.`paid`) < 1000000000000.0, FALSE), NULL, `t1`.`paid`)),
          0.0
        )
      ) AS `value`
    FROM (
      SELECT
        `t0`.`order_id`,
        `t0`.`customer_id`,
        `t0`.`ordered_at`,
        `t0`.`amount`,
        `t0`.`category`,
        `t0`.`status`,
        DATEDIFF(DAY, MAKE_DATE(1970, 1, 1), CAST(`t0`.`ordered_at` AS DATE)) AS `day`,
        IF(`t0`.`status` = 'paid', `t0`.`amount`, 0.0) AS `paid`
      FROM `orders` AS `t0`
      WHERE
        `t0`.`customer_id` IS NOT NULL
        AND `t0`.`ordered_at` <= CAST('2024-03-01T00:00:00' AS TIMESTAMP)
        AND COALESCE(`t0`.`status` IN ('paid', 'refunded') AND (
          `t0`.`amount` >= 0
        ), FALSE)
    ) AS `t1`
    GROUP BY
      1,
      2
  ) AS `t2`
  GROUP BY
    1
) AS `t3`
ORDER BY
  `t3`.`customer_id` ASC NULLS LAST
